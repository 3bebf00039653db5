"""``MarathonApp``: a Marathon app as a stack resource, and the dynamic provider behind it.

Contract (what users of the Terraform providers and dcos-deploy missed):
- ``check`` validates the definition locally; failures name the field.
- ``diff`` compares the desired definition with the app as last read from Marathon, knowing what
  Marathon fills in, so an unchanged definition never diffs; only an id change replaces.
- ``create``/``update`` PUT with ``partialUpdate=false`` and return only when that deployment has
  left ``/v2/deployments``. A 409 lock waits for the locking deployment; ``force`` is used only
  when the user sets it. On a timeout nothing is left half-made: a new app is removed again, an
  updated one is rolled back, and the error names the stuck deployment and ``lastTaskFailure``.
- ``read`` (``pulumi refresh``) reports manual edits as drift; an app deleted by hand leaves state.
- ``delete`` waits for the app's tasks to stop; an app already gone is fine.
- Credentials travel in the secret ``connection`` input and stay encrypted in state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components.cancellation import Interrupted
from kexpose_components.dcos.marathon import (
    AppLocked,
    DeploymentTimeout,
    MarathonClient,
    changed_fields,
    live_definition,
    project_live,
)
from kexpose_components.dcos.marathon_checks import canonical_app_id, check_app
from kexpose_components.errors import KexposeError
from kexpose_components.progress import announce, report
from kexpose_components.resources.connection import ClusterInputs, connection_failures, secret_connection
from kexpose_components.resources.deadline import timeout_seconds
from kexpose_components.resources.lifecycle import create_or_adopt, read_back
from kexpose_components.resources.provider import KexposeProvider

#: The properties a refresh hands back as inputs.
INPUTS = ("connection", "app", "force", "adopt", "timeout")


class MarathonAppError(KexposeError):
    """An operation on a Marathon app failed; the message says what and what to do."""


@dataclass(frozen=True)
class MarathonAppInputs(ClusterInputs):
    """A MarathonApp's properties: the app definition and ``force``, besides the cluster's."""

    app: Any = None
    force: bool = False

    def client(self) -> MarathonClient:
        return MarathonClient(self.session())


def _fixed_host_ports(app: dict[str, Any]) -> bool:
    return bool(app.get("requirePorts")) and any(pd.get("port") for pd in app.get("portDefinitions", []))


def restart_notice(app: dict[str, Any]) -> str:
    """What a reviewer must know about an update: Marathon rolls every change to an app into new
    tasks, and with ``maximumOverCapacity: 0`` (the HAProxy app's fixed ports) the old task stops
    first — a brief outage for every client behind it."""
    strategy = app.get("upgradeStrategy") or {}
    if strategy.get("maximumOverCapacity", 1) == 0:
        return f"{app['id']}: this update restarts its task(s), stopping the old one first: brief outage"
    return f"{app['id']}: this update restarts its task(s) (new ones start before the old ones stop)"


class MarathonAppProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        new = MarathonAppInputs.parse(news)
        failures = [CheckFailure(f, r) for f, r in check_app(new.app)] if new.known("app") else []
        failures += connection_failures(new.connection)
        if not failures and new.known("app"):
            news = {**news, "app": {**new.app, "id": canonical_app_id(new.app["id"])}}
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = MarathonAppInputs.parse(olds), MarathonAppInputs.parse(news)
        if not new.known("app"):
            return DiffResult(changes=True, replaces=[])  # decided at up time, when it is known
        if new.app["id"] != old.app["id"]:
            return DiffResult(changes=True, replaces=["app"], delete_before_replace=_fixed_host_ports(new.app))
        changes = changed_fields(new.app, old.live or {}) or old.app != new.app
        if changes:
            announce(restart_notice(new.app))
        settings = ("connection", "force", "adopt")
        return DiffResult(changes=bool(changes) or old.props(*settings) != new.props(*settings), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = MarathonAppInputs.parse(props)
        client, app_id = inputs.client(), inputs.app["id"]
        deployment = create_or_adopt(
            exists=client.get_app(app_id) is not None, adopt=inputs.adopt,
            taken=f"Marathon already has an app {app_id}. To manage it with kexpose, set adopt=True on this "
                  "resource (kexpose then takes it over in place, without recreating it), or pick another id.",
            apply=lambda: self._deploy(client, inputs), timeout=DeploymentTimeout,
            remove=lambda: client.delete_app(app_id),  # a create that cannot finish leaves nothing behind
            removed="The new app was removed again; fix the cause and run up again.", error=MarathonAppError)
        return CreateResult(app_id, self._outputs(client, props, app_id, deployment))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = MarathonAppInputs.parse(news)
        client = inputs.client()
        try:
            deployment = self._deploy(client, inputs)
        except (DeploymentTimeout, Interrupted) as exc:
            raise MarathonAppError(f"{exc}. {self._roll_back(client, inputs.app['id'])}") from None
        return UpdateResult(self._outputs(client, news, inputs.app["id"], deployment))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = MarathonAppInputs.parse(props)
        live = inputs.client().get_app(id_)
        if live is None:
            return ReadResult(None, {})
        return read_back(id_, props, INPUTS, {"app": project_live(inputs.app, live_definition(live))},
                         self._live_outputs(live))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        inputs = MarathonAppInputs.parse(props)
        client = inputs.client()
        deployment = client.delete_app(id_)
        if deployment is None:
            return  # already gone: deleting is done
        try:
            client.wait_for_deployments([deployment], id_, inputs.timeout, report)
        except (DeploymentTimeout, Interrupted) as exc:
            raise MarathonAppError(f"{exc}. The app is deleted in Marathon; its tasks are still stopping.") from None

    # -- helpers --------------------------------------------------------------------------------
    def _deploy(self, client: MarathonClient, inputs: MarathonAppInputs) -> str:
        """PUT the definition and wait for its deployment; a 409 lock waits for the lock first."""
        app, timeout = inputs.app, float(inputs.timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                deployment = client.put_app(app, force=bool(inputs.force))
                break
            except AppLocked as exc:
                report(f"{app['id']} is locked by deployment(s) {', '.join(exc.deployment_ids)}; waiting for them")
                try:
                    client.wait_for_deployments(exc.deployment_ids, app["id"], max(0.0, deadline - time.monotonic()),
                                                report, budget=timeout)
                except DeploymentTimeout as stuck:
                    raise MarathonAppError(
                        f"{app['id']} stayed locked: {stuck}. Set force=True on this resource to override the "
                        "running deployment, or cancel it in Marathon.") from None
        client.wait_for_deployments([deployment], app["id"], max(1.0, deadline - time.monotonic()), report, budget=timeout)
        return deployment

    @staticmethod
    def _roll_back(client: MarathonClient, app_id: str) -> str:
        """Cancel the stuck deployment so the cluster returns to what the state still says."""
        stuck = [d["id"] for d in client.deployments() if app_id in d.get("affectedApps", [])]
        for deployment in stuck:
            client.rollback(deployment)
        if stuck:
            return f"Marathon rolled the app back to its previous version (cancelled {', '.join(stuck)}); fix the cause and run up again."
        return "Fix the cause and run up again."

    def _outputs(self, client: MarathonClient, props: dict[str, Any], app_id: str, deployment: str) -> dict[str, Any]:
        live = client.get_app(app_id)
        if live is None:
            raise MarathonAppError(f"{app_id} vanished from Marathon right after its deployment finished")
        return {**props, **self._live_outputs(live), "deployment_id": deployment}

    @staticmethod
    def _live_outputs(live: dict[str, Any]) -> dict[str, Any]:
        return {
            "app_id": live["id"],
            "live": live_definition(live),
            "hosts": sorted({t["host"] for t in live.get("tasks", []) if t.get("state") == "TASK_RUNNING"}),
            "service_ports": [pd["port"] for pd in live.get("portDefinitions", [])],
        }


class MarathonApp(Resource, module="marathon", name="App"):
    """A Marathon app, deployed and awaited.

    Args:
        name: the Pulumi resource name.
        connection: how to reach DC/OS (a :class:`DcosConnection` or its dict); kept secret.
        app: the Marathon app definition (as for ``dcos marathon app add``).
        force: override a running deployment instead of waiting for it (Marathon's ``force``).
        adopt: take over an app that already exists (created by hand) instead of failing.
        opts: resource options; ``custom_timeouts`` bound how long a deployment may take.
    """

    app_id: pulumi.Output[str]
    live: pulumi.Output[dict]
    hosts: pulumi.Output[list]
    service_ports: pulumi.Output[list]
    deployment_id: pulumi.Output[str]

    def __init__(self, name: str, connection: pulumi.Input[Any], app: pulumi.Input[dict], force: bool = False,
                 adopt: bool = False, opts: pulumi.ResourceOptions | None = None):
        props = {
            "connection": secret_connection(connection), "app": app, "force": force, "adopt": adopt,
            "timeout": timeout_seconds(opts),
            "app_id": None, "live": None, "hosts": None, "service_ports": None, "deployment_id": None,
        }
        super().__init__(MarathonAppProvider(), name, props, opts)
