"""A certificate the user brings (``ProvidedCertificate``) and the provider behind it: validated in
``check`` with every check of :mod:`kexpose_components.certs`, carried into the state as given.

kexpose cannot renew it, so inside the renewal window the preview says so instead of planning a
change.
"""

from __future__ import annotations

import uuid
from typing import Any, Sequence

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components import certs
from kexpose_components.certs.trust import chain_problem
from kexpose_components.progress import announce
from kexpose_components.resources.certificate import common
from kexpose_components.resources.certificate.common import CertificateInputs, CertificateOutputs, checked, failure
from kexpose_components.resources.inputs import plain
from kexpose_components.resources.provider import KexposeProvider

#: What the user brings; the certificate is loaded once all of them are known.
FIELDS = ("cert_pem", "key_pem", "chain_pem", "domains")


class ProvidedCertificateProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = plain(news)
        failures: list[CheckFailure] = []
        if news.get("chain_pem") is None:
            news["chain_pem"] = ""
        common.check_number(news, "renew_before_days", certs.DEFAULT_RENEW_BEFORE_DAYS, 0,
                     "a whole number of days >= 0", failures)
        common.check_domains(news, failures, required=False)
        new = CertificateInputs.parse(news)
        for key in ("cert_pem", "key_pem", "chain_pem"):
            if new.known(key) and not isinstance(getattr(new, key), str):
                failures.append(failure(key, "must be PEM text (a string)"))
        if failures or not new.known(*FIELDS):
            return checked(news, failures)
        try:
            bundle = self._load(new)
        except certs.CertificateError as exc:
            return checked(news, [failure(p.field, p.message) for p in exc.problems])
        if new.verify_chain and new.known("root_pem"):
            failures += self._untrusted(bundle, new.root_pem or None, new.domains or bundle.domains)
            if failures:
                return checked(news, failures)
        for warning in bundle.warnings:
            announce(f"{self._describe(bundle)}: {warning}")
        status = certs.renewal_status(bundle.info.not_after, new.renew_before)
        if status.due:
            announce(f"{self._describe(bundle)} {status.reason}: bring a renewed certificate "
                     "(kexpose cannot renew a provided one)")
        return checked(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = CertificateInputs.parse(olds), CertificateInputs.parse(news)
        if not new.known(*FIELDS):
            return DiffResult(changes=True, replaces=[])
        try:
            bundle = self._load(new)
        except certs.CertificateError:
            return DiffResult(changes=True, replaces=[])  # check reports it; update fails naming the field
        outs = common.outputs(plain(news), bundle)
        changed = [k for k in FIELDS if getattr(old, k) != outs[k]]
        if changed:
            announce(f"{self._describe(bundle)}: {', '.join(changed)} changed: the new certificate will be used")
        settings_changed = old.renew_before_days != new.renew_before_days
        return DiffResult(changes=bool(changed) or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        return CreateResult(uuid.uuid4().hex, common.outputs(props, self._load_or_fail(CertificateInputs.parse(props))))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = plain(news)
        return UpdateResult(common.outputs(news, self._load_or_fail(CertificateInputs.parse(news))))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None

    @staticmethod
    def _untrusted(bundle: certs.CertificateBundle, root_pem: str | None, domains: Sequence[str]) -> list[CheckFailure]:
        """The chain as a client checks it, for each name it is served for."""
        for domain in domains:
            problem = chain_problem(bundle.cert_pem, bundle.chain_pem, domain, root_pem)
            if problem:
                return [failure("chain_pem", problem)]
        return []

    @staticmethod
    def _load(inputs: CertificateInputs) -> certs.CertificateBundle:
        return certs.load_provided(inputs.cert_pem, inputs.key_pem, inputs.chain_pem or "", inputs.domains or [])

    def _load_or_fail(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        try:
            return self._load(inputs)
        except certs.CertificateError as exc:
            raise common.CertificateIssueError(f"provided certificate: {exc}") from None

    @staticmethod
    def _describe(bundle: certs.CertificateBundle) -> str:
        return f"provided certificate for {', '.join(bundle.domains) or bundle.info.describe()}"


class ProvidedCertificate(Resource, CertificateOutputs, module="tls", name="ProvidedCertificate"):
    """A certificate the user brings (e.g. from their company CA), checked before it is used.

    ``cert_pem`` may be a "fullchain" file (server certificate first); ``chain_pem`` holds the
    intermediates, leaf to root. ``domains``, when given, must all be covered by the certificate.
    Problems fail the preview naming the field. The key is kept secret in state.

    Args:
        name: the Pulumi resource name.
        cert_pem: the server certificate (PEM).
        key_pem: its unencrypted private key (PEM); pass it from a secret config value.
        chain_pem: the CA chain (PEM), leaf to root; may be empty for a self-signed certificate.
        domains: the names it must cover.
        renew_before_days: warn in the preview once it expires within this many days.
        verify_chain: check in the preview, as a client would, that the chain verifies for each
            domain up to ``root_pem`` (or, when that is empty, the system trust store).
        root_pem: the root clients trust (e.g. a company CA).
        opts: resource options.
    """

    def __init__(self, name: str, cert_pem: pulumi.Input[str], key_pem: pulumi.Input[str],
                 chain_pem: pulumi.Input[str] = "", domains: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 verify_chain: bool = False, root_pem: pulumi.Input[str] = "",
                 opts: pulumi.ResourceOptions | None = None):
        props = {
            "cert_pem": cert_pem, "key_pem": pulumi.Output.secret(key_pem), "chain_pem": chain_pem,
            "verify_chain": verify_chain, "root_pem": root_pem,
            "domains": list(domains) if isinstance(domains, tuple) else domains,
            "renew_before_days": renew_before_days,
            **common.output_slots("cert_pem", "key_pem", "chain_pem", "domains"),
        }
        super().__init__(ProvidedCertificateProvider(), name, props, common.secret_options(opts))
