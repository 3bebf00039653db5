"""``DcosSecret``: one secret in the DC/OS secret store, as a stack resource.

The value is a Pulumi secret in, and never out: the state keeps the encrypted input and, as an
output, only the value's SHA-256 (``value_sha256``), which ``read`` refreshes from the cluster so a
value changed outside kexpose shows as drift without the live value entering the state. Messages
name the path, never the value. A path that exists is taken over only with ``adopt``; a 403 says
which uid may not write where, naming the setting that chose the path (``setting``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult
from pulumi.runtime import rpc

from kexpose_components.dcos.client import DcosApiError
from kexpose_components.dcos.secrets import MAX_VALUE_BYTES, SecretsClient, digest, path_problem
from kexpose_components.errors import KexposeError
from kexpose_components.progress import announce
from kexpose_components.resources.connection import ClusterInputs, connection_failures, secret_connection
from kexpose_components.resources.provider import KexposeProvider


class DcosSecretError(KexposeError):
    """Writing or removing a secret failed; the message names the setting and the path."""


@dataclass(frozen=True)
class DcosSecretInputs(ClusterInputs):
    """A DcosSecret's properties: where it lives, its value, and the setting named in errors."""

    path: Any = None
    value: Any = None
    setting: str = "path"
    value_sha256: str | None = None  # output: the hash of the value as last written or read

    def client(self) -> SecretsClient:
        return SecretsClient(self.session())


def _failed(inputs: DcosSecretInputs, action: str, exc: DcosApiError) -> DcosSecretError:
    """A one-line error naming the setting; 403 says whose permission is missing."""
    if exc.status == 403:
        uid = inputs.session().connection.uid or "this identity"
        return DcosSecretError(f"{inputs.setting}: uid {uid!r} may not {action} the DC/OS secret {inputs.path!r} "
                               f"(403: {exc.message}); grant it dcos:secrets:default:/{inputs.path} full, or choose "
                               "a path it may write")
    return DcosSecretError(f"{inputs.setting}: cannot {action} the DC/OS secret {inputs.path!r}: {exc}")


class DcosSecretProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        new = DcosSecretInputs.parse(news)
        failures = connection_failures(new.connection)
        if new.known("path") and (problem := path_problem(new.path)):
            failures.append(CheckFailure("path", problem))
        if new.known("value") and (not isinstance(new.value, str) or len(new.value.encode()) > MAX_VALUE_BYTES):
            # against the resource: the engine would print a failing property's value
            failures.append(CheckFailure("", f"value of secret {new.path!r} must be text of at most 1 MiB"))
        props = dict(news)
        if isinstance(props.get("value"), str):
            props["value"] = rpc.wrap_rpc_secret(props["value"])
        return CheckResult(props, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = DcosSecretInputs.parse(olds), DcosSecretInputs.parse(news)
        if not new.known("path") or new.path != old.path:
            return DiffResult(changes=True, replaces=["path"])
        if not new.known("value"):
            announce(f"DC/OS secret {new.path}: its value will be written again (it is computed during the update)")
            return DiffResult(changes=True, replaces=[])
        value_changed = digest(new.value) != old.value_sha256
        if value_changed:
            announce(f"DC/OS secret {new.path}: its value changes")
        settings_changed = old.props("connection", "adopt", "setting") != new.props("connection", "adopt", "setting")
        return DiffResult(changes=value_changed or settings_changed, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = DcosSecretInputs.parse(props)
        client = inputs.client()
        try:
            if not client.create(inputs.path, inputs.value):
                self._take_over(inputs, client)
        except DcosApiError as exc:
            raise _failed(inputs, "write", exc) from None
        return CreateResult(inputs.path, self._outputs(props, inputs.value))

    @staticmethod
    def _take_over(inputs: DcosSecretInputs, client: SecretsClient) -> None:
        """The path exists: ours already (a retried PUT that went through), adopted, or refused."""
        if client.read(inputs.path) == inputs.value:
            return
        if not inputs.adopt:
            raise DcosSecretError(f"{inputs.setting}: the DC/OS secret {inputs.path!r} exists already and kexpose did "
                                  "not create it; set adopt: true to take it over (its value is replaced), or choose "
                                  "another path")
        client.update(inputs.path, inputs.value)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        old, inputs = DcosSecretInputs.parse(olds), DcosSecretInputs.parse(news)
        if digest(inputs.value) != old.value_sha256:
            client = inputs.client()
            try:
                client.update(inputs.path, inputs.value)
            except DcosApiError as exc:
                if exc.status != 404:
                    raise _failed(inputs, "update", exc) from None
                self.create(news)  # deleted by hand since: write it again
        return UpdateResult(self._outputs(news, inputs.value))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = DcosSecretInputs.parse(props)
        live = inputs.client().read(id_)
        if live is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**self._outputs(props, None), "value_sha256": digest(live)})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        inputs = DcosSecretInputs.parse(props)
        try:
            inputs.client().delete(id_)
        except DcosApiError as exc:
            raise _failed(inputs, "delete", exc) from None

    @staticmethod
    def _outputs(props: dict[str, Any], value: str | None) -> dict[str, Any]:
        """The state's outputs: everything but the value, which is kept only as its hash."""
        outputs = {k: v for k, v in props.items() if k != "value"}
        if value is not None:
            outputs["value_sha256"] = digest(value)
        return outputs


class DcosSecret(Resource, module="dcos", name="Secret"):
    """A secret in DC/OS's ``default`` store at ``path``, holding ``value``.

    Args:
        name: the Pulumi resource name.
        connection: how to reach DC/OS (a :class:`DcosConnection` or its dict); kept secret.
        path: the secret's path, e.g. ``kexpose/elb/devkubernetes01``; changing it replaces the secret.
        value: the text to store; made a Pulumi secret here, whatever the caller passes.
        adopt: take over a secret that exists at ``path`` (its value is replaced) instead of failing.
        setting: what the user sets to choose ``path`` (named in errors), e.g. ``kexpose:exposures[0].secretsPath``.
        opts: resource options.
    """

    value_sha256: pulumi.Output[str]

    def __init__(self, name: str, connection: pulumi.Input[Any], path: pulumi.Input[str], value: pulumi.Input[str],
                 adopt: bool = False, setting: str = "path", opts: pulumi.ResourceOptions | None = None):
        props = {"connection": secret_connection(connection), "path": path, "value": pulumi.Output.secret(value),
                 "adopt": adopt, "setting": setting, "value_sha256": None}
        super().__init__(DcosSecretProvider(), name, props, opts)
