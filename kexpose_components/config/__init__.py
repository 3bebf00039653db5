"""The stack configuration (``stacks/Pulumi.<stack>.yaml``, namespace ``kexpose:``), typed and validated.

Parsed once, at the edge: :func:`load` reads every ``kexpose:`` key, the models in
:mod:`.models` check each value where its type is declared, and :func:`parse` adds the rules
that span keys (references between clusters and exposures, ports shared on an agent,
credentials). Every problem names the key and shows a right value, all at once, before any
resource is registered. Secrets (``dcosPassword``, ``dcosToken``, ``dcosPrivateKey``) are read
only as secret Outputs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import TypeAdapter, ValidationError

from kexpose_components import naming

from kexpose_components.config.models import (DEFAULT_MODES, METHODS, ClusterSettings, DcosSettings, EdgeLbSettings, ExposureBase,
                                              ExposureSettings, HaproxySettings, KubeconfigSettings, MarathonLbSettings, Mode,
                                              SshSettings, StackSettings, TimeoutSettings)
from kexpose_components.config.problems import ConfigError, problems_of

SECRET_KEYS = ("dcosPassword", "dcosToken", "dcosPrivateKey")
#: Credentials CI may give in the environment instead (they replace the stack's; see dcos.client).
ENV_SECRETS = {"KEXPOSE_DCOS_PASSWORD": "dcosPassword", "KEXPOSE_DCOS_TOKEN": "dcosToken",
               "KEXPOSE_DCOS_PRIVATE_KEY": "dcosPrivateKey"}

__all__ = ["METHODS", "SECRET_KEYS", "ClusterSettings", "ConfigError", "DcosSettings", "EdgeLbSettings", "ExposureBase",
           "ExposureSettings", "HaproxySettings", "KubeconfigSettings", "MarathonLbSettings", "Mode", "SshSettings",
           "StackSettings", "TimeoutSettings", "load", "parse", "secret"]


def parse(raw: dict[str, Any], secrets_present: set[str], offline: bool = False,
          identity_from_env: bool = False) -> StackSettings:
    """Validate raw config values (``kexpose:`` keys without the prefix, secrets left out);
    ``secrets_present`` names the secret keys that are set (their values are never read here).
    ``offline``: a preview that reaches no cluster (``KEXPOSE_OFFLINE=1``, see scripts/ci-stack.sh):
    no DC/OS identity is needed and the preflight is off. ``identity_from_env``: ``KEXPOSE_DCOS_*``
    give a whole identity (uid included), which replaces the stack's in the DC/OS session."""
    if not isinstance(raw, dict):
        raise ConfigError(["kexpose: the stack config must be a mapping of kexpose:<key> values"])
    raw = {k: v for k, v in raw.items() if v is not None}
    try:
        settings: StackSettings | None = StackSettings.model_validate(raw)
        problems: list[str] = []
    except ValidationError as err:
        settings, problems = None, problems_of(StackSettings, err)
    # The rules across keys run on every part that is valid on its own, so one run reports all.
    dcos = settings.dcos if settings else _valid(DcosSettings, raw.get("dcos"))
    clusters = list(enumerate(settings.clusters)) if settings else _valid_items(ClusterSettings, raw.get("clusters"))
    exposures = [(i, _Refs.of(e)) for i, e in enumerate(raw.get("exposures") or []) if isinstance(e, dict)] \
        if isinstance(raw.get("exposures"), list) else []
    if not (offline or identity_from_env):
        problems += _credential_problems(dcos if dcos else raw.get("dcos"), secrets_present & set(SECRET_KEYS))
    problems += _cross_key_problems(dcos, clusters, exposures)
    problems += _secret_problems(raw, secrets_present)
    if problems or settings is None:
        raise ConfigError(problems)
    if offline:
        settings = settings.model_copy(update={"preflight": False})
    settings._auth = _auth(secrets_present)
    return settings


def _key_secrets(raw: dict[str, Any]) -> dict[str, str]:
    """Secret config keys the file names as ``keySecret`` -> where it names them."""
    found: dict[str, str] = {}
    for i, cluster in enumerate(raw.get("clusters") or [] if isinstance(raw.get("clusters"), list) else []):
        name = ((cluster or {}).get("certificate") or {}).get("keySecret") if isinstance(cluster, dict) else None
        if isinstance(name, str):
            found[name] = f"clusters[{i}].certificate.keySecret"
    for i, exposure in enumerate(raw.get("exposures") or [] if isinstance(raw.get("exposures"), list) else []):
        ca = exposure.get("issuingCa") if isinstance(exposure, dict) else None
        if isinstance(ca, dict) and isinstance(ca.get("keySecret"), str):
            found[ca["keySecret"]] = f"exposures[{i}].issuingCa.keySecret"
    return found


def _secret_problems(raw: dict[str, Any], secrets: set[str]) -> list[str]:
    """Every secret named by a keySecret is set; no secret is set that nothing reads."""
    named = _key_secrets(raw)
    problems = [f"kexpose:{where}: kexpose:{name} is not set: "
                f"`pulumi config set --secret kexpose:{name} \"$(cat key.pem)\"`"
                for name, where in named.items() if name not in secrets]
    known = set(SECRET_KEYS) | set(named)
    problems += [f"kexpose:{name}: is a secret that no key reads (known: {', '.join(sorted(known))}; a keySecret "
                 "names the others)" for name in sorted(secrets - known)]
    return problems


@dataclass(frozen=True)
class _Refs:
    """What the rules across keys read of an exposure, taken from its raw value, so that they
    also run on an exposure with problems of its own."""

    name: str | None
    trusted: bool
    clusters: tuple[str, ...]
    port: int | None
    agents: tuple[str, ...]

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "_Refs":
        def strings(value: Any) -> tuple[str, ...]:
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        port, method = raw.get("port"), raw.get("method")
        return cls(name=raw["name"] if isinstance(raw.get("name"), str) else None,
                   trusted=raw.get("mode", DEFAULT_MODES.get(method) if isinstance(method, str) else None) == Mode.TRUSTED,
                   clusters=tuple(naming.service_name(c) for c in strings(raw.get("clusters"))),
                   port=port if isinstance(port, int) and not isinstance(port, bool) else None,
                   agents=strings(raw.get("agents")))


def _valid(model: Any, value: Any) -> Any:
    try:
        return TypeAdapter(model).validate_python(value)
    except ValidationError:
        return None


def _valid_items(model: Any, values: Any) -> list[tuple[int, Any]]:
    """(index, item) for each item of a list that is valid on its own."""
    if not isinstance(values, list):
        return []
    items = [(i, _valid(model, v)) for i, v in enumerate(values)]
    return [(i, v) for i, v in items if v is not None]


def _auth(secrets: set[str]) -> str:
    if "dcosToken" in secrets:
        return "token"
    if "dcosPassword" in secrets:
        return "password"
    return "service-account" if "dcosPrivateKey" in secrets else "none"


def _credential_problems(dcos: DcosSettings | Any, secrets: set[str]) -> list[str]:
    if not isinstance(dcos, DcosSettings):
        uid = dcos.get("uid") if isinstance(dcos, dict) else None
        open_cluster = isinstance(dcos, dict) and dcos.get("auth") == "none"
    else:
        uid, open_cluster = dcos.uid, dcos.auth == "none"
    if open_cluster:
        return [f"kexpose:{k}: is set, but dcos.auth is none: remove it, or drop dcos.auth to log in"
                for k in SECRET_KEYS if k in secrets]
    if secrets & {"dcosPassword", "dcosPrivateKey"} and "dcosToken" not in secrets and not uid:
        return ['kexpose:dcos.uid: is required with dcosPassword or dcosPrivateKey, e.g. "kexpose"']
    if not secrets:
        return ["kexpose:dcosPassword: is required to log in: `pulumi config set --secret kexpose:dcosPassword …` "
                "(with dcos.uid), or set kexpose:dcosToken or kexpose:dcosPrivateKey instead; "
                "dcos.auth: none for a cluster without authentication"]
    return []


def _cross_key_problems(d: DcosSettings | None, clusters: list[tuple[int, ClusterSettings]],
                        exposures: list[tuple[int, _Refs]]) -> list[str]:
    problems: list[str] = []
    if d and d.url.startswith("http://") and d.verify and not re.match(r"^http://(127\.|localhost)", d.url):
        problems.append("kexpose:dcos.url: uses plain http to a remote host: use https "
                        "(or set dcos.verify: false knowingly)")
    domains: dict[str, str | None] = {}
    for i, cluster in clusters:
        if cluster.service in domains:
            problems.append(f"kexpose:clusters[{i}].service: {cluster.service} is listed twice")
        domains[cluster.service] = cluster.domain
    names: set[str] = set()
    bound: dict[tuple[str, int], str] = {}
    for i, exposure in exposures:
        key = f"kexpose:exposures[{i}]"
        if exposure.name in names:
            problems.append(f"{key}.name: {exposure.name!r} is used twice")
        names.add(exposure.name or "")
        for service in exposure.clusters:
            if service not in domains:
                problems.append(f"{key}.clusters: {service!r} is not in kexpose:clusters (add it there first)")
            elif exposure.trusted and not domains[service]:
                problems.append(f"{key}.clusters: trusted mode routes by domain (SNI): set "
                                f"kexpose:clusters[…].domain for {service}")
        for agent in exposure.agents if exposure.port else ():
            other = bound.get((agent, exposure.port))
            if other:
                problems.append(f"{key}.port: {exposure.port} on {agent} is already used by exposure {other!r}")
            bound[(agent, exposure.port)] = exposure.name
    return problems


def _config_keys() -> set[str]:
    """Every config key the engine handed the program: the SDK keeps them in a context variable
    (set by the language host) or in ``PULUMI_CONFIG``, and has no public call that lists them."""
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def load() -> StackSettings:
    """Read and validate every ``kexpose:`` key of the current stack (raises ConfigError)."""
    config = pulumi.Config("kexpose")
    keys = sorted({k.split(":", 1)[1] for k in _config_keys() if k.startswith("kexpose:")})
    secrets = {k for k in keys if k in SECRET_KEYS or runtime_config.is_config_secret(f"kexpose:{k}")}
    from_env = {key for env, key in ENV_SECRETS.items() if os.environ.get(env)}
    raw = {k: config.get_object(k) for k in keys if k not in secrets}
    offline = os.environ.get("KEXPOSE_OFFLINE") == "1" and pulumi.runtime.is_dry_run()
    return parse(raw, (secrets - set(SECRET_KEYS) if from_env else secrets) | from_env, offline, bool(from_env))


def secret(key: str) -> pulumi.Output[str] | None:
    """A secret config value as a secret Output (never read as plain text)."""
    if pulumi.runtime.get_config(f"kexpose:{key}") is None:
        return None
    return pulumi.Config("kexpose").require_secret(key)
