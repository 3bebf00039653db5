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
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from kexpose_components.dcos.client import DcosConnection, DcosSession
from kexpose_components.dcos.marathon import (
    AppLocked,
    DeploymentTimeout,
    MarathonClient,
    changed_fields,
    live_definition,
    project_live,
)
from kexpose_components.dcos.marathon_checks import canonical_app_id, check_app
from kexpose_components.progress import report
from kexpose_components.resources.connection import connection_failures, secret_connection
from kexpose_components.resources.deadline import DEFAULT_TIMEOUT, timeout_seconds
from kexpose_components.resources.unknowns import contains_unknown



class MarathonAppError(Exception):
    """An operation on a Marathon app failed; the message says what and what to do."""


def _client(props: dict[str, Any]) -> MarathonClient:
    return MarathonClient(DcosSession(DcosConnection.from_dict(props["connection"])))


def _fixed_host_ports(app: dict[str, Any]) -> bool:
    return bool(app.get("requirePorts")) and any(pd.get("port") for pd in app.get("portDefinitions", []))


class MarathonAppProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        app = news.get("app")
        failures = [] if contains_unknown(app) else [CheckFailure(f, r) for f, r in check_app(app)]
        failures += connection_failures(news)
        if not failures and not contains_unknown(app):
            news = {**news, "app": {**app, "id": canonical_app_id(app["id"])}}
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old_app, new_app = olds["app"], news["app"]
        if contains_unknown(new_app):
            return DiffResult(changes=True, replaces=[])  # decided at up time, when it is known
        if new_app["id"] != old_app["id"]:
            return DiffResult(changes=True, replaces=["app"], delete_before_replace=_fixed_host_ports(new_app))
        changes = changed_fields(new_app, olds.get("live") or {}) or old_app != new_app
        settings_changed = any(olds.get(k) != news.get(k) for k in ("connection", "force", "adopt"))
        return DiffResult(changes=bool(changes or settings_changed), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = _client(props)
        app = props["app"]
        existing = client.get_app(app["id"])
        if existing is not None and not props.get("adopt"):
            raise MarathonAppError(
                f"Marathon already has an app {app['id']}. To manage it with kexpose, set adopt=True on this "
                "resource (kexpose then takes it over in place, without recreating it), or pick another id.")
        try:
            deployment = self._deploy(client, app, props)
        except DeploymentTimeout as exc:
            if existing is None:
                client.delete_app(app["id"])  # a create that cannot finish leaves nothing behind
                raise MarathonAppError(f"{exc}. The new app was removed again; fix the cause and run up again.") from None
            raise MarathonAppError(str(exc)) from None
        return CreateResult(app["id"], self._outputs(client, props, deployment))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = _client(news)
        try:
            deployment = self._deploy(client, news["app"], news)
        except DeploymentTimeout as exc:
            raise MarathonAppError(f"{exc}. {self._roll_back(client, news)}") from None
        return UpdateResult(self._outputs(client, news, deployment))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client = _client(props)
        live = client.get_app(id_)
        if live is None:
            return ReadResult(None, {})
        inputs = {k: props[k] for k in ("connection", "app", "force", "adopt", "timeout") if k in props}
        inputs["app"] = project_live(props["app"], live_definition(live))
        outputs = {**props, **self._live_outputs(live), "app": inputs["app"]}
        return ReadResult(id_, outputs, inputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client = _client(props)
        deployment = client.delete_app(id_)
        if deployment is None:
            return  # already gone: deleting is done
        try:
            client.wait_for_deployments([deployment], id_, props.get("timeout", DEFAULT_TIMEOUT), report)
        except DeploymentTimeout as exc:
            raise MarathonAppError(f"{exc}. The app is deleted in Marathon; its tasks are still stopping.") from None

    # -- helpers --------------------------------------------------------------------------------
    def _deploy(self, client: MarathonClient, app: dict[str, Any], props: dict[str, Any]) -> str:
        """PUT the definition and wait for its deployment; a 409 lock waits for the lock first."""
        timeout = float(props.get("timeout", DEFAULT_TIMEOUT))
        deadline = time.monotonic() + timeout
        while True:
            try:
                deployment = client.put_app(app, force=bool(props.get("force")))
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
    def _roll_back(client: MarathonClient, props: dict[str, Any]) -> str:
        """Cancel the stuck deployment so the cluster returns to what the state still says."""
        stuck = [d["id"] for d in client.deployments() if props["app"]["id"] in d.get("affectedApps", [])]
        for deployment in stuck:
            client.rollback(deployment)
        if stuck:
            return f"Marathon rolled the app back to its previous version (cancelled {', '.join(stuck)}); fix the cause and run up again."
        return "Fix the cause and run up again."

    def _outputs(self, client: MarathonClient, props: dict[str, Any], deployment: str) -> dict[str, Any]:
        live = client.get_app(props["app"]["id"])
        if live is None:
            raise MarathonAppError(f"{props['app']['id']} vanished from Marathon right after its deployment finished")
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
