"""``EdgeLBPool``: an Edge-LB V2 pool as a stack resource, and the dynamic provider behind it.

Same contract as ``MarathonApp``, over the Edge-LB API: every field is read back and compared
knowing Edge-LB's defaults (no blind spots, no false diffs); create/update is GET then POST or
PUT and returns once the pool is ready; a 500 re-reads before deciding (Edge-LB's writes can go
through and still answer 500); delete waits until the pool answers 404. The preview says whether
a change only reloads HAProxy (just ``haproxy`` changed) or relaunches the pool's tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components.cancellation import Interrupted
from kexpose_components.dcos.edgelb import EDGELB_DEFAULTS, EdgeLBClient, PoolNotReady, change_effect, live_pool
from kexpose_components.dcos.edgelb_checks import check_pool
from kexpose_components.errors import KexposeError
from kexpose_components.progress import announce, report
from kexpose_components.resources.connection import ClusterInputs, connection_failures, secret_connection
from kexpose_components.resources.deadline import timeout_seconds
from kexpose_components.resources.lifecycle import create_or_adopt, read_back
from kexpose_components.resources.provider import KexposeProvider

#: The properties a refresh hands back as inputs.
INPUTS = ("connection", "pool", "adopt", "timeout")


class EdgeLBPoolError(KexposeError):
    """An operation on an Edge-LB pool failed; the message says what and what to do."""


@dataclass(frozen=True)
class EdgeLBPoolInputs(ClusterInputs):
    """An EdgeLBPool's properties: the V2 pool definition, besides the cluster's."""

    pool: Any = None

    def client(self) -> EdgeLBClient:
        return EdgeLBClient(self.session())


class EdgeLBPoolProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        new = EdgeLBPoolInputs.parse(news)
        failures = [CheckFailure(f, r) for f, r in check_pool(new.pool)] if new.known("pool") else []
        failures += connection_failures(new.connection)
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old_inputs, new_inputs = EdgeLBPoolInputs.parse(olds), EdgeLBPoolInputs.parse(news)
        old, new = old_inputs.pool, new_inputs.pool
        if not new_inputs.known("pool"):
            return DiffResult(changes=True, replaces=[])
        if new["name"] != old["name"] or new.get("namespace") != old.get("namespace"):
            # Edge-LB cannot rename a pool or move it to another namespace: replace it.
            return DiffResult(changes=True, replaces=["pool"], delete_before_replace=True)
        fields = EDGELB_DEFAULTS.changed_fields(new, old_inputs.live or {})
        if old != new:
            fields = sorted(set(fields) | {k for k in set(old) | set(new) if old.get(k) != new.get(k)})
        effect = change_effect(fields)
        if effect != "none":
            what = "reloads HAProxy in place" if effect == "reload" else "relaunches the pool's load-balancer tasks"
            announce(f"Edge-LB pool {new['name']}: changing {', '.join(fields)} {what}")
        settings_changed = old_inputs.props("connection", "adopt") != new_inputs.props("connection", "adopt")
        return DiffResult(changes=effect != "none" or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = EdgeLBPoolInputs.parse(props)
        client, pool = inputs.client(), inputs.pool
        existing = client.get_pool(pool["name"])

        def apply() -> str:
            if existing is None:
                client.create_pool(pool)
            else:
                client.update_pool(pool)
            return client.wait_ready(pool, inputs.timeout, report)

        config = create_or_adopt(
            exists=existing is not None, adopt=inputs.adopt,
            taken=f"Edge-LB already has a pool {pool['name']}. To manage it with kexpose, set adopt=True on this "
                  "resource (it is then updated in place), or pick another name.",
            apply=apply, timeout=PoolNotReady, remove=lambda: client.delete_pool(pool["name"], inputs.timeout),
            removed="The new pool was deleted again; fix the cause and run up again.", error=EdgeLBPoolError)
        return CreateResult(pool["name"], self._outputs(client, props, pool["name"], config))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = EdgeLBPoolInputs.parse(news)
        client = inputs.client()
        client.update_pool(inputs.pool)
        try:
            config = client.wait_ready(inputs.pool, inputs.timeout, report)
        except (PoolNotReady, Interrupted) as exc:
            raise EdgeLBPoolError(f"{exc}. The pool definition was updated in Edge-LB; run up again once the "
                                  "cause is fixed (or refresh to record the cluster's state).") from None
        return UpdateResult(self._outputs(client, news, inputs.pool["name"], config))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = EdgeLBPoolInputs.parse(props)
        live = inputs.client().get_pool(id_)
        if live is None:
            return ReadResult(None, {})
        pool = {**EDGELB_DEFAULTS.project_live(inputs.pool, live_pool(live)), "name": id_}
        return read_back(id_, props, INPUTS, {"pool": pool}, {"live": live_pool(live)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        inputs = EdgeLBPoolInputs.parse(props)
        try:
            inputs.client().delete_pool(id_, inputs.timeout)
        except (PoolNotReady, Interrupted) as exc:
            raise EdgeLBPoolError(str(exc)) from None

    @staticmethod
    def _outputs(client: EdgeLBClient, props: dict[str, Any], name: str, config: str) -> dict[str, Any]:
        live = client.get_pool(name)
        if live is None:
            raise EdgeLBPoolError(f"Edge-LB pool {name} vanished right after it became ready")
        return {**props, "live": live_pool(live), "lbconfig": config}


class EdgeLBPool(Resource, module="edgelb", name="Pool"):
    """An Edge-LB V2 pool, created or updated and awaited until its HAProxy serves it.

    Args:
        name: the Pulumi resource name.
        connection: how to reach DC/OS (a :class:`DcosConnection` or its dict); kept secret.
        pool: the V2 pool definition (as for ``dcos edgelb create``), ``apiVersion: V2``.
        adopt: take over a pool that already exists instead of failing.
        opts: resource options; ``custom_timeouts`` bound how long readiness may take.
    """

    live: pulumi.Output[dict]
    lbconfig: pulumi.Output[str]

    def __init__(self, name: str, connection: pulumi.Input[Any], pool: pulumi.Input[dict], adopt: bool = False,
                 opts: pulumi.ResourceOptions | None = None):
        props = {"connection": secret_connection(connection), "pool": pool, "adopt": adopt,
                 "timeout": timeout_seconds(opts), "live": None, "lbconfig": None}
        super().__init__(EdgeLBPoolProvider(), name, props, opts)
