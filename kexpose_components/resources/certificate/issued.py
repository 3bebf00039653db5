"""The certificates kexpose issues itself: ``SelfSignedWildcard``, ``CertificateAuthority`` and
``DomainCertificate``, and the providers behind them (contract: the package docstring)."""

from __future__ import annotations

import uuid
from typing import Any, Sequence

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components import certs
from kexpose_components.progress import announce
from kexpose_components.resources.certificate.common import (
    CERT_OUTPUTS,
    CertificateInputs,
    CertificateIssueError,
    CertificateOutputs,
    check_domains,
    check_number,
    checked,
    failure,
    output_slots,
    outputs,
    secret_options,
)
from kexpose_components.resources.inputs import is_unknown, plain, whole
from kexpose_components.resources.provider import KexposeProvider


class _IssuedCertificateProvider(KexposeProvider):
    """Shared lifecycle of certificates kexpose issues itself (wildcard, CA, domain certificate)."""

    #: Inputs whose change means a different certificate.
    reissue_on: tuple[str, ...] = ("key_size", "validity_days")
    #: Inputs that are used to issue but must not be copied into the state's outputs.
    not_in_outputs: tuple[str, ...] = ()
    default_validity_days = certs.DEFAULT_VALIDITY_DAYS

    # subclasses ---------------------------------------------------------------------------------
    def _issue(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        raise NotImplementedError

    def _describe(self, inputs: CertificateInputs) -> str:
        raise NotImplementedError

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        pass

    # the provider ------------------------------------------------------------------------------
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = plain(news)
        failures: list[CheckFailure] = []
        check_number(news, "key_size", certs.DEFAULT_KEY_SIZE, 0,
                     f"one of {', '.join(map(str, certs.ALLOWED_KEY_SIZES))} (bits of the RSA key)", failures,
                     allowed=certs.ALLOWED_KEY_SIZES)
        check_number(news, "validity_days", self.default_validity_days, 1, "a whole number of days >= 1", failures)
        check_number(news, "renew_before_days", certs.DEFAULT_RENEW_BEFORE_DAYS, 0,
                     "a whole number of days >= 0 (0 renews only once expired)", failures)
        self._check_specific(news, failures)
        return checked(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = CertificateInputs.parse(olds), CertificateInputs.parse(news)
        changed, expiry = self._changed_inputs(old, new), self._expiry(old, new)
        if changed or expiry:
            what = self._describe(new if new.known("domains") else old)
            if expiry:
                what += f" {expiry}" + (f"; also {', '.join(changed)}" if changed else "")
            else:
                what += f": {', '.join(changed)}"
            announce(f"{what}: a new one will be issued")
        settings_changed = old.renew_before_days != new.renew_before_days
        return DiffResult(changes=bool(changed or expiry) or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = plain(props)
        bundle = self._issue_or_fail(CertificateInputs.parse(props))
        return CreateResult(uuid.uuid4().hex, outputs(props, bundle, self.not_in_outputs))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds, news = plain(olds), plain(news)
        old, new = CertificateInputs.parse(olds), CertificateInputs.parse(news)
        if self._changed_inputs(old, new) or self._expiry(old, new):
            return UpdateResult(outputs(news, self._issue_or_fail(new), self.not_in_outputs))
        kept = {k: olds[k] for k in CERT_OUTPUTS if k in olds}  # only renew_before_days changed
        inputs = {k: v for k, v in news.items() if k not in self.not_in_outputs}
        return UpdateResult({**inputs, **kept})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)  # the certificate lives only in the state

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # nothing outside the state to remove

    # helpers ------------------------------------------------------------------------------------
    def _changed_inputs(self, old: CertificateInputs, new: CertificateInputs) -> list[str]:
        """The inputs that shape the certificate and changed, in words."""
        changed = []
        for key in self.reissue_on:
            if not new.known(key):
                changed.append("the signing CA will change" if key == "ca_cert_pem" else f"{key} will change")
            elif getattr(old, key) != getattr(new, key):
                changed.append(self._change(key, getattr(old, key), getattr(new, key)))
        return changed

    @staticmethod
    def _expiry(old: CertificateInputs, new: CertificateInputs) -> str | None:
        """Why the stored certificate is due ("expires ... (within the 30-day renewal window)"), or None."""
        if not old.not_after or not old.cert_pem:
            return "has no certificate in the state yet"
        renew_before = new.renew_before
        status = certs.renewal_status(old.not_after, renew_before)
        if not status.due:
            return None
        validity = whole(new.validity_days)
        if validity is not None and validity <= renew_before:
            return (f"{status.reason}; validity_days ({validity}) is not longer than renew_before_days "
                    f"({renew_before:g}), so every update renews it")
        return status.reason

    @staticmethod
    def _change(key: str, old: Any, new: Any) -> str:
        """A change in words: "domains changed ([a] -> [a, b])"; certificates are not quoted."""
        if key == "ca_cert_pem":
            return "the signing CA changed"

        def show(value: Any) -> str:
            return "[" + ", ".join(map(str, value)) + "]" if isinstance(value, (list, tuple)) else str(value)

        return f"{key} changed ({show(old)} -> {show(new)})"

    def _issue_or_fail(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        try:
            return self._issue(inputs)
        except ValueError as exc:  # CertificateError included
            raise CertificateIssueError(f"{self._describe(inputs)}: {exc}") from None


class SelfSignedWildcardProvider(_IssuedCertificateProvider):
    reissue_on = ("key_size", "validity_days", "domains")

    def _changed_inputs(self, old: CertificateInputs, new: CertificateInputs) -> list[str]:
        # Without names the certificate's domains read back as ["*"] (CN=*): nothing changed.
        if not new.domains and list(old.domains or []) in ([], ["*"]):
            return [c for c in super()._changed_inputs(old, new) if not c.startswith("domains")]
        return super()._changed_inputs(old, new)

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        if news.get("domains"):  # none given: CN=* only, and the outputs' domains say "*"
            check_domains(news, failures, required=False)

    def _issue(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        return certs.self_signed_wildcard(domains=inputs.domains or (), validity_days=inputs.validity_days,
                                          key_size=inputs.key_size)

    def _describe(self, inputs: CertificateInputs) -> str:
        return "self-signed wildcard certificate (CN=*)"


class CertificateAuthorityProvider(_IssuedCertificateProvider):
    reissue_on = ("key_size", "validity_days", "common_name")
    default_validity_days = certs.DEFAULT_CA_VALIDITY_DAYS

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        name = news.get("common_name")
        if name is None:
            news["common_name"] = certs.DEFAULT_CA_NAME
        elif not is_unknown(name) and (not isinstance(name, str) or not 1 <= len(name) <= 64):
            failures.append(CheckFailure("common_name", "must be 1 to 64 characters, e.g. 'kexpose CA'"))

    def _issue(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        return certs.create_ca(common_name=inputs.common_name, validity_days=inputs.validity_days,
                               key_size=inputs.key_size)

    def _describe(self, inputs: CertificateInputs) -> str:
        return f"CA certificate '{inputs.common_name or certs.DEFAULT_CA_NAME}'"


class DomainCertificateProvider(_IssuedCertificateProvider):
    reissue_on = ("key_size", "validity_days", "domains", "ca_cert_pem")
    not_in_outputs = ("ca_key_pem",)  # the CA's key stays with the CA

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        check_domains(news, failures, required=True)
        ca_cert, ca_key = news.get("ca_cert_pem"), news.get("ca_key_pem")
        missing = [key for key, value in (("ca_cert_pem", ca_cert), ("ca_key_pem", ca_key))
                   if value is None or (not is_unknown(value) and not value)]
        failures.extend(failure(key, "is required: pass ca=<CertificateAuthority> (or its cert_pem and key_pem) "
                                     "to DomainCertificate") for key in missing)
        if missing or is_unknown(ca_cert) or is_unknown(ca_key):
            return
        try:
            certs.load_ca(ca_cert, ca_key, require_valid=False)
        except certs.CertificateError as exc:
            failures.extend(failure(p.field, p.message) for p in exc.problems)

    def _issue(self, inputs: CertificateInputs) -> certs.CertificateBundle:
        return certs.issue_domain_certificate(inputs.ca_cert_pem, inputs.ca_key_pem, inputs.domains,
                                              validity_days=inputs.validity_days, key_size=inputs.key_size)

    def _describe(self, inputs: CertificateInputs) -> str:
        domains = inputs.domains
        return f"certificate for {', '.join(domains)}" if domains and inputs.known("domains") else "domain certificate"


# -- resource classes -------------------------------------------------------------------------
class SelfSignedWildcard(Resource, CertificateOutputs, module="tls", name="SelfSignedWildcard"):
    """The quick-mode certificate: self-signed, ``CN=*``, for HAProxy to terminate TLS on any name.

    Clients verify it by pinning it as their CA (``ca_pem``), for the names in ``domains`` (its
    subjectAltNames); use :class:`DomainCertificate` for certificates from a CA.

    Args:
        name: the Pulumi resource name.
        domains: subjectAltNames (e.g. ``*.kexpose.internal``); none: ``CN=*`` only.
        validity_days: lifetime of each certificate issued.
        key_size: RSA key bits (2048, 3072 or 4096).
        renew_before_days: issue a new certificate once the current one expires within this many days.
        opts: resource options.
    """

    def __init__(self, name: str, validity_days: pulumi.Input[int] = certs.DEFAULT_VALIDITY_DAYS,
                 key_size: pulumi.Input[int] = certs.DEFAULT_KEY_SIZE,
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 domains: Sequence[str] = (), opts: pulumi.ResourceOptions | None = None):
        names = {"domains": list(domains)} if domains else {}
        props = {"validity_days": validity_days, "key_size": key_size, "renew_before_days": renew_before_days,
                 **names, **output_slots(*names)}
        super().__init__(SelfSignedWildcardProvider(), name, props, secret_options(opts))


class CertificateAuthority(Resource, CertificateOutputs, module="tls", name="CertificateAuthority"):
    """A private root CA for the trusted mode; give its ``cert_pem`` to clients as their CA.

    Args:
        name: the Pulumi resource name.
        common_name: the CA's CN (shown by clients in verification errors).
        validity_days: lifetime of the CA certificate (default ten years).
        key_size: RSA key bits (2048, 3072 or 4096).
        renew_before_days: issue a new CA once the current one expires within this many days; the
            certificates it signed are then reissued too.
        opts: resource options.
    """

    def __init__(self, name: str, common_name: pulumi.Input[str] = certs.DEFAULT_CA_NAME,
                 validity_days: pulumi.Input[int] = certs.DEFAULT_CA_VALIDITY_DAYS,
                 key_size: pulumi.Input[int] = certs.DEFAULT_KEY_SIZE,
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"common_name": common_name, "validity_days": validity_days, "key_size": key_size,
                 "renew_before_days": renew_before_days, **output_slots()}
        super().__init__(CertificateAuthorityProvider(), name, props, secret_options(opts))


class DomainCertificate(Resource, CertificateOutputs, module="tls", name="DomainCertificate"):
    """A server certificate for ``domains`` (subjectAltNames), signed by a CertificateAuthority.

    Args:
        name: the Pulumi resource name.
        ca: the signing :class:`CertificateAuthority` (or pass ``ca_cert_pem`` and ``ca_key_pem``).
        domains: host names and/or IP addresses clients use to reach the API server.
        validity_days: lifetime of each certificate issued (never beyond the CA's).
        key_size: RSA key bits (2048, 3072 or 4096).
        renew_before_days: issue a new certificate once the current one expires within this many days.
        ca_cert_pem, ca_key_pem: a CA brought from elsewhere, instead of ``ca``; the key is kept secret.
        opts: resource options.
    """

    ca_cert_pem: pulumi.Output[str]

    def __init__(self, name: str, ca: CertificateAuthority | None = None,
                 domains: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
                 validity_days: pulumi.Input[int] = certs.DEFAULT_VALIDITY_DAYS,
                 key_size: pulumi.Input[int] = certs.DEFAULT_KEY_SIZE,
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 ca_cert_pem: pulumi.Input[str] | None = None, ca_key_pem: pulumi.Input[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        if ca is not None:
            ca_cert_pem, ca_key_pem = ca.cert_pem, ca.key_pem
        props = {
            "ca_cert_pem": ca_cert_pem,
            "ca_key_pem": pulumi.Output.secret(ca_key_pem) if ca_key_pem is not None else None,
            "domains": list(domains) if isinstance(domains, tuple) else domains,
            "validity_days": validity_days, "key_size": key_size, "renew_before_days": renew_before_days,
            **output_slots("domains"),
        }
        super().__init__(DomainCertificateProvider(), name, props, secret_options(opts))
