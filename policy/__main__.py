"""kexpose's policy pack: `pulumi preview --policy-pack policy` (README "Policy pack").

Each rule is a pure function in kexpose_policy.rules; this file only wires them into
pulumi_policy: enforcement levels, configurable thresholds (with defaults), and the translation
of the pack's resource view (a proxy that raises on values unknown during preview) into plain
inputs with :data:`rules.UNKNOWN` stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from kexpose_policy import rules

#: Inputs no rule reads: the serialized provider is large and always secret.
SKIPPED_INPUTS = {"__provider"}


def plain(value: Any) -> Any:
    """The pack's view of an input as plain dicts and lists; unknown values become UNKNOWN."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            if key in SKIPPED_INPUTS:
                continue
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = rules.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(rules.UNKNOWN)
        return items
    return value


def policy(name: str, description: str, level: EnforcementLevel, config: dict[str, dict[str, Any]],
           check: Callable[[rules.Resource, dict[str, Any]], list[str]]) -> ResourceValidationPolicy:
    """A resource policy whose thresholds are configurable, defaults included in the schema."""
    defaults = {key: spec["default"] for key, spec in config.items()}

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        res = rules.Resource(args.resource_type, args.name, plain(args.props))
        settings = {**defaults, **dict(args.get_config() or {})}
        for message in check(res, settings):
            report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=description, enforcement_level=level,
                                    config_schema=PolicyConfigSchema(properties=config) if config else None,
                                    validate=validate)


EXEMPT = {"exemptStacks": {"type": "array", "items": {"type": "string"}, "default": ["local"],
                           "description": "Stacks this rule does not apply to (the simulator's local stack)."}}

POLICIES = [
    policy("kexpose-backend-tls-verification",
           "TLS verification stays on between kexpose, DC/OS and the apiservers (no insecureBackend, "
           "verifyBackend: false or dcos verify: false) on every stack but the exempt ones.",
           EnforcementLevel.MANDATORY, EXEMPT,
           lambda res, c: rules.backend_tls(res, pulumi.get_stack(), list(c["exemptStacks"]))),
    policy("kexpose-dcos-https",
           "DC/OS credentials are only sent over HTTPS.",
           EnforcementLevel.MANDATORY, EXEMPT,
           lambda res, c: rules.dcos_https(res, pulumi.get_stack(), list(c["exemptStacks"]))),
    policy("kexpose-stats-not-public",
           "HAProxy / Edge-LB stats are never served on a public address without authentication.",
           EnforcementLevel.MANDATORY, {},
           lambda res, c: rules.public_stats(res)),
    policy("kexpose-certificate-lifetime",
           "Certificates are valid for at least minDays days (issued validity, or what is left of a provided one).",
           EnforcementLevel.MANDATORY,
           {"minDays": {"type": "integer", "minimum": 1, "default": 30,
                        "description": "Fewest days a certificate may be valid for."}},
           lambda res, c: rules.certificate_lifetime(res, int(c["minDays"]))),
    policy("kexpose-certificate-key-strength",
           "Certificate keys are RSA of at least minRsaBits bits or ECDSA P-256 or stronger.",
           EnforcementLevel.MANDATORY,
           {"minRsaBits": {"type": "integer", "minimum": 2048, "default": 2048,
                           "description": "Fewest bits an RSA key may have."}},
           lambda res, c: rules.key_strength(res, int(c["minRsaBits"]))),
    policy("kexpose-tunnel-timeout",
           "`timeout tunnel` is long enough for kubectl exec / logs -f (at least minTunnelSeconds).",
           EnforcementLevel.ADVISORY,
           {"minTunnelSeconds": {"type": "integer", "minimum": 1, "default": 3600,
                                 "description": "Shortest tunnel timeout allowed, in seconds."}},
           lambda res, c: rules.tunnel_timeout(res, int(c["minTunnelSeconds"]))),
]

PolicyPack(name="kexpose", policies=POLICIES)
