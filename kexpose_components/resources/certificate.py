"""Certificates as stack resources: ``SelfSignedWildcard``, ``CertificateAuthority``,
``DomainCertificate`` and ``ProvidedCertificate``, with the dynamic providers behind them.

Contract:
- ``check`` validates inputs locally; failures name the field (``domains``, ``key_pem``, ...) and
  say how to fix it. A user-brought certificate gets every check of :mod:`kexpose_components.certs`
  (key matches, chain verifies, domains covered, not expired) before anything is deployed.
- Expiry is part of the diff: when the stored certificate is inside its renewal window
  (``renew_before_days``, default 30) or an input that shapes it changed (domains, key size,
  validity, signing CA), ``diff`` reports a change and ``update`` issues a new certificate. The
  engine cannot show a reason for a dynamic provider's diff, so ``diff`` also announces it.
  Changing only ``renew_before_days`` keeps the certificate.
- Private keys never reach state in plain text: ``key_pem`` and ``bundle_pem`` are secret outputs
  (set by the resource classes), private-key inputs are passed as secrets, and a CA's key is not
  copied into the outputs of the certificates it signs.
- Nothing lives outside the state, so ``read`` returns the state and ``delete`` has nothing to do.

Pulumi hands numbers to providers as floats (``30`` arrives as ``30.0``); ``check`` turns whole
numbers back into ints and comparisons go through the same normalisation.
"""

from __future__ import annotations

import uuid
from typing import Any, Sequence

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult
from pulumi.output import Unknown
from pulumi.runtime import rpc

from kexpose_components import certs
from kexpose_components.progress import announce

#: Outputs that contain a private key; the resource classes mark them secret.
SECRET_OUTPUTS = ["key_pem", "bundle_pem"]
#: Inputs that hold a private key; ``check`` hands them back to the engine marked secret.
SECRET_INPUTS = ("key_pem", "ca_key_pem")
#: What every certificate resource outputs besides its inputs.
CERT_OUTPUTS = ("cert_pem", "key_pem", "bundle_pem", "chain_pem", "ca_pem", "not_before", "not_after",
                "fingerprint_sha256", "domains")


class CertificateIssueError(Exception):
    """Issuing a certificate failed; the message names the input and the fix."""


# -- input handling ---------------------------------------------------------------------------
def _known(value: Any) -> bool:
    """False while any part of ``value`` is still unknown (computed by another resource in a preview).

    The engine sends such values as the UNKNOWN marker or as an output value; known values
    always arrive plain.
    """
    if isinstance(value, (Unknown, pulumi.Output)) or (isinstance(value, str) and value == rpc.UNKNOWN):
        return False
    if isinstance(value, (list, tuple)):
        return all(_known(v) for v in value)
    if isinstance(value, dict):
        return all(_known(v) for v in value.values())
    return True


def _plain(props: dict[str, Any]) -> dict[str, Any]:
    """Properties with secret wrappers removed (the engine strips them for us; this is a safety net)."""
    return {k: rpc.unwrap_rpc_secret(v) for k, v in props.items()}


def _checked(news: dict[str, Any], failures: list[CheckFailure]) -> CheckResult:
    """The check result, private keys marked secret so no engine message can print them."""
    inputs = {k: rpc.wrap_rpc_secret(v) if k in SECRET_INPUTS and isinstance(v, str) else v for k, v in news.items()}
    return CheckResult(inputs, failures)


def _failure(field: str, reason: str) -> CheckFailure:
    """A check failure naming ``field``, safe for fields that hold PEM text.

    The engine quotes the field's value in a failure's message, secret or not (it would print a
    private key, or a whole certificate). For PEM fields the failure is therefore reported against
    the resource, with the field's name leading the reason.
    """
    if field.endswith("_pem"):
        return CheckFailure("", f"{field} {reason}")
    return CheckFailure(field, reason)


def _whole(value: Any) -> int | None:
    """An int from what Pulumi delivers (6443 arrives as 6443.0); None if it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _check_number(news: dict[str, Any], key: str, default: int, minimum: int, hint: str,
                  failures: list[CheckFailure], allowed: Sequence[int] = ()) -> None:
    """Normalise ``news[key]`` to an int in place, or record a failure naming the field."""
    raw = news.get(key)
    if raw is None:
        news[key] = default
        return
    if not _known(raw):
        return
    value = _whole(raw)
    if value is None or value < minimum or (allowed and value not in allowed):
        shown = _whole(raw) if _whole(raw) is not None else repr(raw)
        failures.append(CheckFailure(key, f"must be {hint}, not {shown}"))
        return
    news[key] = value


def _check_domains(news: dict[str, Any], failures: list[CheckFailure], required: bool) -> None:
    raw = news.get("domains")
    if raw is None:
        raw = []
    if not _known(raw):
        return
    if not isinstance(raw, (list, tuple)) or not all(isinstance(d, str) for d in raw):
        failures.append(CheckFailure("domains", "must be a list of host names, e.g. ['devkubernetes01.example.com']"))
        return
    try:
        names = certs.normalize_domains(raw)
    except ValueError as exc:
        failures.append(CheckFailure("domains", str(exc)))
        return
    if required and not names:
        failures.append(CheckFailure("domains", "needs at least one host name, e.g. ['devkubernetes01.example.com']"))
        return
    news["domains"] = list(names)


def _same(old: Any, new: Any) -> bool:
    """Equality across the float/int round trip through the engine."""
    if isinstance(old, (int, float)) and isinstance(new, (int, float)) and not isinstance(old, bool):
        return float(old) == float(new)
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new))
    return old == new


def _renew_before(props: dict[str, Any]) -> float:
    value = props.get("renew_before_days")
    return float(value) if isinstance(value, (int, float)) and _known(value) else float(certs.DEFAULT_RENEW_BEFORE_DAYS)


def _outputs(inputs: dict[str, Any], bundle: certs.CertificateBundle, drop: Sequence[str] = ()) -> dict[str, Any]:
    """The state of a certificate resource: its inputs (minus ``drop``) and the certificate."""
    kept = {k: v for k, v in inputs.items() if k not in drop and k not in CERT_OUTPUTS}
    return {
        **kept,
        "cert_pem": bundle.cert_pem, "key_pem": bundle.key_pem, "bundle_pem": bundle.bundle_pem,
        "chain_pem": bundle.chain_pem, "ca_pem": bundle.ca_pem,
        "not_before": bundle.info.not_before.isoformat(), "not_after": bundle.info.not_after.isoformat(),
        "fingerprint_sha256": bundle.info.fingerprint_sha256, "domains": list(bundle.domains),
    }


# -- generated certificates -------------------------------------------------------------------
class _IssuedCertificateProvider(ResourceProvider):
    """Shared lifecycle of certificates kexpose issues itself (wildcard, CA, domain certificate)."""

    #: Inputs whose change means a different certificate.
    reissue_on: tuple[str, ...] = ("key_size", "validity_days")
    #: Inputs that are used to issue but must not be copied into the state's outputs.
    not_in_outputs: tuple[str, ...] = ()
    default_validity_days = certs.DEFAULT_VALIDITY_DAYS

    # subclasses ---------------------------------------------------------------------------------
    def _issue(self, props: dict[str, Any]) -> certs.CertificateBundle:
        raise NotImplementedError

    def _describe(self, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        pass

    # ResourceProvider ---------------------------------------------------------------------------
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = _plain(news)
        failures: list[CheckFailure] = []
        _check_number(news, "key_size", certs.DEFAULT_KEY_SIZE, 0,
                      f"one of {', '.join(map(str, certs.ALLOWED_KEY_SIZES))} (bits of the RSA key)", failures,
                      allowed=certs.ALLOWED_KEY_SIZES)
        _check_number(news, "validity_days", self.default_validity_days, 1, "a whole number of days >= 1", failures)
        _check_number(news, "renew_before_days", certs.DEFAULT_RENEW_BEFORE_DAYS, 0,
                      "a whole number of days >= 0 (0 renews only once expired)", failures)
        self._check_specific(news, failures)
        return _checked(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = _plain(olds), _plain(news)
        changed, expiry = self._changed_inputs(olds, news), self._expiry(olds, news)
        if changed or expiry:
            what = self._describe(news if _known(news.get("domains")) else olds)
            if expiry:
                what += f" {expiry}" + (f"; also {', '.join(changed)}" if changed else "")
            else:
                what += f": {', '.join(changed)}"
            announce(f"{what}: a new one will be issued")
        settings_changed = not _same(olds.get("renew_before_days"), news.get("renew_before_days"))
        return DiffResult(changes=bool(changed or expiry) or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = _plain(props)
        return CreateResult(uuid.uuid4().hex, _outputs(props, self._issue_or_fail(props), self.not_in_outputs))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds, news = _plain(olds), _plain(news)
        if self._changed_inputs(olds, news) or self._expiry(olds, news):
            return UpdateResult(_outputs(news, self._issue_or_fail(news), self.not_in_outputs))
        kept = {k: olds[k] for k in CERT_OUTPUTS if k in olds}  # only renew_before_days changed
        inputs = {k: v for k, v in news.items() if k not in self.not_in_outputs}
        return UpdateResult({**inputs, **kept})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)  # the certificate lives only in the state

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None  # nothing outside the state to remove

    # helpers ------------------------------------------------------------------------------------
    def _changed_inputs(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """The inputs that shape the certificate and changed, in words."""
        changed = []
        for key in self.reissue_on:
            if not _known(news.get(key)):
                changed.append("the signing CA will change" if key == "ca_cert_pem" else f"{key} will change")
            elif not _same(olds.get(key), news.get(key)):
                changed.append(self._change(key, olds.get(key), news.get(key)))
        return changed

    @staticmethod
    def _expiry(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
        """Why the stored certificate is due ("expires ... (within the 30-day renewal window)"), or None."""
        if not olds.get("not_after") or not olds.get("cert_pem"):
            return "has no certificate in the state yet"
        renew_before = _renew_before(news)
        status = certs.renewal_status(olds["not_after"], renew_before)
        if not status.due:
            return None
        validity = _whole(news.get("validity_days"))
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
            if isinstance(value, (list, tuple)):
                return "[" + ", ".join(map(str, value)) + "]"
            whole = _whole(value)
            return str(whole) if whole is not None else str(value)

        return f"{key} changed ({show(old)} -> {show(new)})"

    def _issue_or_fail(self, props: dict[str, Any]) -> certs.CertificateBundle:
        try:
            return self._issue(props)
        except certs.CertificateError as exc:
            raise CertificateIssueError(f"{self._describe(props)}: {exc}") from None
        except ValueError as exc:
            raise CertificateIssueError(f"{self._describe(props)}: {exc}") from None


class SelfSignedWildcardProvider(_IssuedCertificateProvider):
    def _issue(self, props: dict[str, Any]) -> certs.CertificateBundle:
        return certs.self_signed_wildcard(validity_days=int(props["validity_days"]), key_size=int(props["key_size"]))

    def _describe(self, props: dict[str, Any]) -> str:
        return "self-signed wildcard certificate (CN=*)"


class CertificateAuthorityProvider(_IssuedCertificateProvider):
    reissue_on = ("key_size", "validity_days", "common_name")
    default_validity_days = certs.DEFAULT_CA_VALIDITY_DAYS

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        name = news.get("common_name")
        if name is None:
            news["common_name"] = certs.DEFAULT_CA_NAME
        elif _known(name) and (not isinstance(name, str) or not 1 <= len(name) <= 64):
            failures.append(CheckFailure("common_name", "must be 1 to 64 characters, e.g. 'kexpose CA'"))

    def _issue(self, props: dict[str, Any]) -> certs.CertificateBundle:
        return certs.create_ca(common_name=props["common_name"], validity_days=int(props["validity_days"]),
                               key_size=int(props["key_size"]))

    def _describe(self, props: dict[str, Any]) -> str:
        return f"CA certificate '{props.get('common_name') or certs.DEFAULT_CA_NAME}'"


class DomainCertificateProvider(_IssuedCertificateProvider):
    reissue_on = ("key_size", "validity_days", "domains", "ca_cert_pem")
    not_in_outputs = ("ca_key_pem",)  # the CA's key stays with the CA

    def _check_specific(self, news: dict[str, Any], failures: list[CheckFailure]) -> None:
        _check_domains(news, failures, required=True)
        ca_cert, ca_key = news.get("ca_cert_pem"), news.get("ca_key_pem")
        missing = [key for key, value in (("ca_cert_pem", ca_cert), ("ca_key_pem", ca_key))
                   if value is None or (_known(value) and not value)]
        failures.extend(_failure(key, "is required: pass ca=<CertificateAuthority> (or its cert_pem and key_pem) "
                                      "to DomainCertificate") for key in missing)
        if missing or not (_known(ca_cert) and _known(ca_key)):
            return
        try:
            certs.load_ca(ca_cert, ca_key, require_valid=False)
        except certs.CertificateError as exc:
            failures.extend(_failure(p.field, p.message) for p in exc.problems)

    def _issue(self, props: dict[str, Any]) -> certs.CertificateBundle:
        return certs.issue_domain_certificate(props["ca_cert_pem"], props["ca_key_pem"], props["domains"],
                                              validity_days=int(props["validity_days"]),
                                              key_size=int(props["key_size"]))

    def _describe(self, props: dict[str, Any]) -> str:
        domains = props.get("domains")
        return f"certificate for {', '.join(domains)}" if domains and _known(domains) else "domain certificate"


# -- user-brought certificates ----------------------------------------------------------------
class ProvidedCertificateProvider(ResourceProvider):
    """A certificate the user brings: validated in ``check``, carried into the state as given.

    kexpose cannot renew it, so inside the renewal window the preview says so instead of
    planning a change.
    """

    fields = ("cert_pem", "key_pem", "chain_pem", "domains")

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        news = _plain(news)
        failures: list[CheckFailure] = []
        if news.get("chain_pem") is None:
            news["chain_pem"] = ""
        _check_number(news, "renew_before_days", certs.DEFAULT_RENEW_BEFORE_DAYS, 0,
                      "a whole number of days >= 0", failures)
        _check_domains(news, failures, required=False)
        for key in ("cert_pem", "key_pem", "chain_pem"):
            if _known(news.get(key)) and not isinstance(news.get(key), str):
                failures.append(_failure(key, "must be PEM text (a string)"))
        if failures or not all(_known(news.get(k)) for k in self.fields):
            return _checked(news, failures)
        try:
            bundle = self._load(news)
        except certs.CertificateError as exc:
            return _checked(news, [_failure(p.field, p.message) for p in exc.problems])
        for warning in bundle.warnings:
            announce(f"{self._describe(bundle)}: {warning}")
        status = certs.renewal_status(bundle.info.not_after, _renew_before(news))
        if status.due:
            announce(f"{self._describe(bundle)} {status.reason}: bring a renewed certificate "
                     "(kexpose cannot renew a provided one)")
        return _checked(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        olds, news = _plain(olds), _plain(news)
        if not all(_known(news.get(k)) for k in self.fields):
            return DiffResult(changes=True, replaces=[])
        try:
            bundle = self._load(news)
        except certs.CertificateError:
            return DiffResult(changes=True, replaces=[])  # check reports it; update fails naming the field
        outs = _outputs(news, bundle)
        changed = [k for k in ("cert_pem", "key_pem", "chain_pem", "domains") if not _same(olds.get(k), outs[k])]
        if changed:
            announce(f"{self._describe(bundle)}: {', '.join(changed)} changed: the new certificate will be used")
        settings_changed = not _same(olds.get("renew_before_days"), news.get("renew_before_days"))
        return DiffResult(changes=bool(changed) or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        props = _plain(props)
        return CreateResult(uuid.uuid4().hex, _outputs(props, self._load_or_fail(props)))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        news = _plain(news)
        return UpdateResult(_outputs(news, self._load_or_fail(news)))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None

    @staticmethod
    def _load(props: dict[str, Any]) -> certs.CertificateBundle:
        return certs.load_provided(props["cert_pem"], props["key_pem"], props.get("chain_pem") or "",
                                   props.get("domains") or [])

    def _load_or_fail(self, props: dict[str, Any]) -> certs.CertificateBundle:
        try:
            return self._load(props)
        except certs.CertificateError as exc:
            raise CertificateIssueError(f"provided certificate: {exc}") from None

    @staticmethod
    def _describe(bundle: certs.CertificateBundle) -> str:
        return f"provided certificate for {', '.join(bundle.domains) or bundle.info.describe()}"


# -- resource classes -------------------------------------------------------------------------
def _secret_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """The caller's options plus the outputs that hold private keys, marked secret."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS)))


def _output_slots(*inputs: str) -> dict[str, None]:
    """Placeholders that make the outputs attributes of the resource (minus same-named inputs)."""
    return {k: None for k in CERT_OUTPUTS if k not in inputs}


class _CertificateOutputs:
    """The outputs every certificate resource has (see the module docstring)."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    bundle_pem: pulumi.Output[str]
    chain_pem: pulumi.Output[str]
    ca_pem: pulumi.Output[str]
    not_before: pulumi.Output[str]
    not_after: pulumi.Output[str]
    fingerprint_sha256: pulumi.Output[str]
    domains: pulumi.Output[list]


class SelfSignedWildcard(Resource, _CertificateOutputs, module="tls", name="SelfSignedWildcard"):
    """The quick-mode certificate: self-signed, ``CN=*``, for HAProxy to terminate TLS on any name.

    Clients cannot verify it by name (use ``insecure-skip-tls-verify`` or pin ``ca_pem``); use
    :class:`DomainCertificate` for verifiable TLS.

    Args:
        name: the Pulumi resource name.
        validity_days: lifetime of each certificate issued.
        key_size: RSA key bits (2048, 3072 or 4096).
        renew_before_days: issue a new certificate once the current one expires within this many days.
        opts: resource options.
    """

    def __init__(self, name: str, validity_days: pulumi.Input[int] = certs.DEFAULT_VALIDITY_DAYS,
                 key_size: pulumi.Input[int] = certs.DEFAULT_KEY_SIZE,
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"validity_days": validity_days, "key_size": key_size, "renew_before_days": renew_before_days,
                 **_output_slots()}
        super().__init__(SelfSignedWildcardProvider(), name, props, _secret_options(opts))


class CertificateAuthority(Resource, _CertificateOutputs, module="tls", name="CertificateAuthority"):
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
                 "renew_before_days": renew_before_days, **_output_slots()}
        super().__init__(CertificateAuthorityProvider(), name, props, _secret_options(opts))


class DomainCertificate(Resource, _CertificateOutputs, module="tls", name="DomainCertificate"):
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
            **_output_slots("domains"),
        }
        super().__init__(DomainCertificateProvider(), name, props, _secret_options(opts))


class ProvidedCertificate(Resource, _CertificateOutputs, module="tls", name="ProvidedCertificate"):
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
        opts: resource options.
    """

    def __init__(self, name: str, cert_pem: pulumi.Input[str], key_pem: pulumi.Input[str],
                 chain_pem: pulumi.Input[str] = "", domains: pulumi.Input[Sequence[pulumi.Input[str]]] = (),
                 renew_before_days: pulumi.Input[int] = certs.DEFAULT_RENEW_BEFORE_DAYS,
                 opts: pulumi.ResourceOptions | None = None):
        props = {
            "cert_pem": cert_pem, "key_pem": pulumi.Output.secret(key_pem), "chain_pem": chain_pem,
            "domains": list(domains) if isinstance(domains, tuple) else domains,
            "renew_before_days": renew_before_days,
            **_output_slots("cert_pem", "key_pem", "chain_pem", "domains"),
        }
        super().__init__(ProvidedCertificateProvider(), name, props, _secret_options(opts))
