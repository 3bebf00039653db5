"""``HaproxyConfig``: the rendered haproxy.cfg as a stack resource, validated during preview.

``check`` renders the model and runs the real ``haproxy -c`` on it — in ``pulumi preview`` too —
so a bad option fails the preview with HAProxy's own message and nothing changes. Certificate
bundles that do not exist yet (unknown during the first preview) are stood in for by throwaway
self-signed ones of the same shape. Outputs are the config text and a hash over the config and
every referenced file. (The file delivered to the agents also carries the revision the reloader
and ``HaproxyReload`` go by, see ``haproxy.reload``.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, Resource, UpdateResult

from kexpose_components import certs
from kexpose_components.haproxy.model import HaproxyModel, HaproxyRejected, Route, check_config, config_hash, model_problems
from kexpose_components.timeouts import Timeouts
from kexpose_components.resources.inputs import Inputs
from kexpose_components.resources.provider import KexposeProvider


def model_from_dict(data: dict[str, Any]) -> HaproxyModel:
    """The model from its (parsed) resource input: lists back to tuples, nested types rebuilt."""
    routes = tuple(Route(**{**r, "domains": tuple(r.get("domains") or ())}) for r in data.get("routes") or ())
    fields = {f.name for f in dataclasses.fields(HaproxyModel)}
    values = {k: v for k, v in data.items() if k in fields and k not in ("routes", "timeouts", "certificates")}
    return HaproxyModel(**values, routes=routes, certificates=tuple(data.get("certificates") or ()),
                        timeouts=Timeouts(**(data.get("timeouts") or {})))


def model_to_dict(model: HaproxyModel) -> dict[str, Any]:
    return dataclasses.asdict(model)


@dataclasses.dataclass(frozen=True)
class HaproxyConfigInputs(Inputs):
    """A HaproxyConfig's properties: the model (as a dict), the referenced files, extra config."""

    model: Any = None
    files: Any = None
    extra: str = ""


def _placeholders(model: HaproxyModel) -> dict[str, str]:
    """Stand-ins for files whose contents are unknown yet (first preview)."""
    pair = certs.self_signed_wildcard(validity_days=1)
    out = {name: pair.cert_pem + pair.key_pem for name in model.certificates}
    out.update({r.ca_file: pair.cert_pem for r in model.routes if r.ca_file})
    return out


class HaproxyConfigProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        new = HaproxyConfigInputs.parse(news)
        try:
            model = model_from_dict(new.model)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return CheckResult(news, [CheckFailure("model", f"is not a valid HAProxy model: {exc}")])
        failures = [CheckFailure(f"model.{f}", reason) for f, reason in model_problems(model)]
        if failures:
            return CheckResult(news, failures)
        stand_ins = _placeholders(model)
        if isinstance(new.files, dict) and new.known("files"):
            stand_ins.update(new.files)
        try:
            check_config(model, stand_ins, new.extra)
        except HaproxyRejected as exc:
            failures.append(CheckFailure("model", f"haproxy -c rejects the configuration: {exc}"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=HaproxyConfigInputs.parse(olds) != HaproxyConfigInputs.parse(news), replaces=[])

    def _outputs(self, props: dict[str, Any]) -> dict[str, Any]:
        inputs = HaproxyConfigInputs.parse(props)
        config = check_config(model_from_dict(inputs.model), inputs.files, inputs.extra)
        return {**props, "config": config, "sha256": config_hash(config, inputs.files)}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._outputs(props)
        return CreateResult(outs["sha256"][:16], outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._outputs(news))


class HaproxyConfig(Resource, module="haproxy", name="Config"):
    """A validated haproxy.cfg.

    Args:
        model: a :class:`HaproxyModel` (or its dict).
        files: file name -> content for every file the config references (bundles with private
            keys: kept secret).
        extra: raw HAProxy config appended verbatim (validated with the rest).
    """

    config: pulumi.Output[str]
    sha256: pulumi.Output[str]

    def __init__(self, name: str, model: HaproxyModel | dict, files: pulumi.Input[dict], extra: str = "",
                 opts: pulumi.ResourceOptions | None = None):
        model_dict = model_to_dict(model) if isinstance(model, HaproxyModel) else model
        props = {"model": model_dict, "files": pulumi.Output.secret(files), "extra": extra, "config": None, "sha256": None}
        super().__init__(HaproxyConfigProvider(), name, props, opts)
