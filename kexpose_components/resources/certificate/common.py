"""What every certificate resource shares: its typed properties, the checks of the inputs they
have in common, the outputs, and the options that keep private keys secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult
from pulumi.runtime import rpc

from kexpose_components import certs
from kexpose_components.errors import KexposeError
from kexpose_components.resources.inputs import Inputs, is_number, is_unknown, whole

#: Outputs that contain a private key; the resource classes mark them secret.
SECRET_OUTPUTS = ["key_pem", "bundle_pem"]
#: Inputs that hold a private key; ``check`` hands them back to the engine marked secret.
SECRET_INPUTS = ("key_pem", "ca_key_pem")
#: What every certificate resource outputs besides its inputs.
CERT_OUTPUTS = ("cert_pem", "key_pem", "bundle_pem", "chain_pem", "ca_pem", "not_before", "not_after",
                "fingerprint_sha256", "domains")


class CertificateIssueError(KexposeError):
    """Issuing a certificate failed; the message names the input and the fix."""


@dataclass(frozen=True)
class CertificateInputs(Inputs):
    """Every property a certificate resource may have (each kind uses its own): the inputs that
    shape the certificate, and the certificate as last issued or loaded (from the state)."""

    key_size: Any = None
    validity_days: Any = None
    renew_before_days: Any = None
    common_name: Any = None
    domains: Any = None
    ca_cert_pem: Any = None
    ca_key_pem: Any = None
    cert_pem: Any = None
    key_pem: Any = None
    chain_pem: Any = None
    root_pem: Any = None  # provided certificates: the root the chain must verify to ("": the system store)
    verify_chain: Any = None  # provided certificates: check the chain as a client would
    not_after: Any = None

    @property
    def renew_before(self) -> float:
        """The renewal window in days (the default until the input is known and a number)."""
        value = self.renew_before_days
        return float(value) if is_number(value) else float(certs.DEFAULT_RENEW_BEFORE_DAYS)


def checked(news: dict[str, Any], failures: list[CheckFailure]) -> CheckResult:
    """The check result, private keys marked secret so no engine message can print them."""
    inputs = {k: rpc.wrap_rpc_secret(v) if k in SECRET_INPUTS and isinstance(v, str) else v for k, v in news.items()}
    return CheckResult(inputs, failures)


def failure(field: str, reason: str) -> CheckFailure:
    """A check failure naming ``field``, safe for fields that hold PEM text.

    The engine quotes the field's value in a failure's message, secret or not (it would print a
    private key, or a whole certificate). For PEM fields the failure is therefore reported against
    the resource, with the field's name leading the reason.
    """
    if field.endswith("_pem"):
        return CheckFailure("", f"{field} {reason}")
    return CheckFailure(field, reason)


def check_number(news: dict[str, Any], key: str, default: int, minimum: int, hint: str,
                 failures: list[CheckFailure], allowed: Sequence[int] = ()) -> None:
    """Fill in ``news[key]``'s default when absent, or record a failure naming the field."""
    raw = news.get(key)
    if raw is None:
        news[key] = default
        return
    if is_unknown(raw):
        return
    value = whole(raw)
    if value is None or value < minimum or (allowed and value not in allowed):
        failures.append(CheckFailure(key, f"must be {hint}, not {value if value is not None else repr(raw)}"))


def check_domains(news: dict[str, Any], failures: list[CheckFailure], required: bool) -> None:
    """Normalise ``news["domains"]`` in place (lower case, no duplicates), or record a failure."""
    raw = news.get("domains")
    if raw is None:
        raw = []
    if is_unknown(raw):
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


def outputs(inputs: dict[str, Any], bundle: certs.CertificateBundle, drop: Sequence[str] = ()) -> dict[str, Any]:
    """The state of a certificate resource: its inputs (minus ``drop``) and the certificate."""
    kept = {k: v for k, v in inputs.items() if k not in drop and k not in CERT_OUTPUTS}
    return {
        **kept,
        "cert_pem": bundle.cert_pem, "key_pem": bundle.key_pem, "bundle_pem": bundle.bundle_pem,
        "chain_pem": bundle.chain_pem, "ca_pem": bundle.ca_pem,
        "not_before": bundle.info.not_before.isoformat(), "not_after": bundle.info.not_after.isoformat(),
        "fingerprint_sha256": bundle.info.fingerprint_sha256, "domains": list(bundle.domains),
    }


# -- resource classes -------------------------------------------------------------------------
def secret_options(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """The caller's options plus the outputs that hold private keys, marked secret."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_OUTPUTS)))


def output_slots(*inputs: str) -> dict[str, None]:
    """Placeholders that make the outputs attributes of the resource (minus same-named inputs)."""
    return {k: None for k in CERT_OUTPUTS if k not in inputs}


class CertificateOutputs:
    """The outputs every certificate resource has (see the package docstring)."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    bundle_pem: pulumi.Output[str]
    chain_pem: pulumi.Output[str]
    ca_pem: pulumi.Output[str]
    not_before: pulumi.Output[str]
    not_after: pulumi.Output[str]
    fingerprint_sha256: pulumi.Output[str]
    domains: pulumi.Output[list]
