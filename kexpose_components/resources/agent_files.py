"""``AgentFiles``: files delivered over SSH to DC/OS agents, as a stack resource.

The seeds' manual step ``scp haproxy.pem haproxy.conf core@<public-agent>:/opt/haproxy``, kept
in state. Contract:
- ``check`` validates locally (at least one agent, an absolute ``directory``, plain file names,
  an octal ``mode``); failures name the field.
- ``diff`` compares content hashes per agent with the hashes last delivered or read back
  (``hashes``, the only per-file output, which holds names and SHA-256 and nothing secret):
  a changed file, an added or removed agent, another directory or mode updates in place.
- ``create``/``update`` read the agents' current hashes, upload only the files that differ
  (to a temporary name, then renamed over the old one; ``last`` after all the others) and
  remove files dropped from the set.
- ``read`` (``pulumi refresh``) downloads the files and hashes them: a file edited or deleted on
  an agent shows as drift, and the next ``up`` restores it.
- ``delete`` removes the files; a file or directory already gone is fine.
- ``ssh_private_key`` and ``files`` (some are private keys) are secret in state; host keys are
  always verified against ``known_hosts``.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, UpdateResult

from kexpose_components.delivery import (
    DEFAULT_PORT,
    DEFAULT_USER,
    VALID_USER,
    AgentTarget,
    DeliveryError,
    SshDelivery,
    check_directory,
    check_name,
    normalize_directory,
    sha256_hex,
)
from kexpose_components.errors import KexposeError
from kexpose_components.progress import announce, report
from kexpose_components.resources.inputs import Inputs, is_unknown, whole
from kexpose_components.resources.provider import KexposeProvider

INPUTS = ("agents", "ssh_private_key", "known_hosts", "directory", "files", "mode", "last")
DEFAULT_MODE = "0644"


class AgentFilesError(KexposeError):
    """Delivering the files failed; the message names the agent(s) and what failed."""


def _mode(value: Any) -> str | None:
    """'0644' for 0o644 (420), '644', '0644' or '0o644'; None if it is not a permission mode
    (setuid/setgid/sticky bits make no sense for delivered files, and rejecting them catches a
    decimal 644 written where 0o644 was meant)."""
    if isinstance(value, str):
        digits = value.strip().removeprefix("0o")
        n = int(digits, 8) if digits and all(c in "01234567" for c in digits) else None
    else:
        n = whole(value)
    return f"{n:04o}" if n is not None and 0 <= n <= 0o777 else None


@dataclass(frozen=True)
class AgentFilesInputs(Inputs):
    """An AgentFiles' properties; ``hashes`` is what was last delivered or read back (an output)."""

    agents: Any = None
    ssh_private_key: Any = None
    known_hosts: Any = None
    directory: Any = None
    files: Any = None
    mode: Any = DEFAULT_MODE
    last: str = ""  # the file renamed into place after all others (what a watcher on the agent waits for)
    hashes: dict | None = None

    @property
    def targets(self) -> list[AgentTarget]:
        return [AgentTarget.from_dict(a) for a in self.agents or []]

    @property
    def names(self) -> list[str]:
        return sorted(self.files or {})

    def desired(self) -> dict[str, dict[str, str]]:
        """agent key -> file name -> SHA-256 of what should be there."""
        files = {n: sha256_hex(c) for n, c in (self.files or {}).items()}
        return {t.key: dict(files) for t in self.targets}

    def ssh(self) -> SshDelivery:
        try:
            return SshDelivery(self.ssh_private_key, self.known_hosts)
        except DeliveryError as exc:
            raise AgentFilesError(str(exc)) from None


def _each(targets: list[AgentTarget], action: str, fn: Callable[[AgentTarget], Any]) -> dict[str, Any]:
    """Run ``fn`` for every agent in parallel; one error naming every agent that failed."""
    results: dict[str, Any] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(targets)))) as pool:
        futures = {t.key: pool.submit(fn, t) for t in targets}
        for t in targets:
            try:
                results[t.key] = futures[t.key].result()
            except DeliveryError as exc:
                errors.append(str(exc))
    if errors:
        done = f" ({len(targets) - len(errors)} of {len(targets)} agents succeeded)" if len(targets) > 1 else ""
        raise AgentFilesError(f"{action} failed{done}: " + " | ".join(errors))
    return results


def _check_agents(agents: Any, failures: list[CheckFailure]) -> list[dict[str, Any]] | None:
    """The agents with defaults filled in, or None (and failures naming each field) when wrong."""
    if not isinstance(agents, list) or not agents:
        failures.append(CheckFailure("agents", "needs at least one agent, e.g. [{'host': '10.0.4.7'}] "
                                               "(port defaults to 22, user to core)"))
        return None
    normalized, before = [], len(failures)
    for i, agent in enumerate(agents):
        if not isinstance(agent, dict):
            failures.append(CheckFailure(f"agents[{i}]", "must be a mapping {host, port, user}"))
            continue
        host = agent.get("host")
        port = DEFAULT_PORT if agent.get("port") is None else agent["port"]
        user = DEFAULT_USER if agent.get("user") is None else agent["user"]
        if not isinstance(host, str) or not host.strip() or any(c in host for c in " /@"):
            failures.append(CheckFailure(f"agents[{i}].host", f"must be an agent's address or host name (got {host!r})"))
        if whole(port) is None or not 1 <= port <= 65535:
            failures.append(CheckFailure(f"agents[{i}].port", f"must be a TCP port 1-65535 (got {port!r})"))
        if not isinstance(user, str) or not VALID_USER.fullmatch(user):
            failures.append(CheckFailure(f"agents[{i}].user", f"must be a user name, e.g. core (got {user!r})"))
        if len(failures) == before:
            normalized.append({"host": host.strip(), "port": port, "user": user})
    keys = [AgentTarget.from_dict(a).key for a in normalized]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        failures.append(CheckFailure("agents", f"lists {', '.join(dupes)} more than once"))
    return normalized if len(failures) == before else None


def _check_files(files: Any, failures: list[CheckFailure]) -> None:
    # Reported against the resource, the field named in the text: files is secret, and a failure
    # on a secret property makes the engine print the property's value.
    if not isinstance(files, dict):
        failures.append(CheckFailure("", "files must be a mapping of file name -> content"))
        return
    for name, content in files.items():
        problem = check_name(name)
        if problem:
            failures.append(CheckFailure("", f"files[{name!r}]: {problem}"))
        elif not is_unknown(content) and not isinstance(content, str):
            failures.append(CheckFailure("", f"files[{name!r}]: content must be text"))


class AgentFilesProvider(KexposeProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        new = AgentFilesInputs.parse(news)
        failures: list[CheckFailure] = []
        out = dict(news)
        if new.known("agents"):
            agents = _check_agents(new.agents, failures)
            if agents is not None:
                out["agents"] = agents
        if new.known("ssh_private_key") and (not isinstance(new.ssh_private_key, str)
                                             or "PRIVATE KEY" not in new.ssh_private_key):
            # Reported against the resource, field named in the text: a failure on a secret property
            # makes the engine print the property's value.
            failures.append(CheckFailure("", "ssh_private_key must be an SSH private key (PEM or OpenSSH format, "
                                             "'-----BEGIN … PRIVATE KEY-----')"))
        if new.known("known_hosts") and (not isinstance(new.known_hosts, str) or not new.known_hosts.strip()):
            failures.append(CheckFailure("known_hosts", "is required: known_hosts lines for the agents "
                                                        "('<host> <key type> <key>'); host keys are always verified"))
        if new.known("directory"):
            problem = check_directory(new.directory)
            if problem:
                failures.append(CheckFailure("directory", problem))
            else:
                out["directory"] = normalize_directory(new.directory)
        if isinstance(new.files, dict) or new.known("files"):
            _check_files(new.files, failures)
            if new.last and isinstance(new.files, dict) and new.last not in new.files:
                failures.append(CheckFailure("last", f"{new.last!r} is not one of the files"))
        if new.known("mode"):
            mode = _mode(new.mode)
            if mode is None:
                failures.append(CheckFailure("mode", f"must be a permission mode up to 0o777, e.g. 0o600 or '0644' (got {new.mode!r})"))
            else:
                out["mode"] = mode
        return CheckResult(out, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = AgentFilesInputs.parse(olds), AgentFilesInputs.parse(news)
        if not new.known(*INPUTS):
            return DiffResult(changes=True, replaces=[])
        desired, live, delivered = new.desired(), old.hashes or {}, old.desired()
        for key, files in sorted(live.items()):
            drifted = sorted(n for n in delivered.get(key, {}) if files.get(n) != delivered[key][n])
            if drifted:
                announce(f"{', '.join(drifted)} on {key}:{old.directory} changed on the agent since it was "
                         "delivered (or is missing); up restores it")
        settings = ("ssh_private_key", "known_hosts", "directory", "mode", "agents")
        return DiffResult(changes=desired != live or old.props(*settings) != new.props(*settings), replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        hashes = self._deliver(AgentFilesInputs.parse(props), old=None)
        return CreateResult(uuid.uuid4().hex, {**props, "hashes": hashes})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "hashes": self._deliver(AgentFilesInputs.parse(news), AgentFilesInputs.parse(olds))})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = AgentFilesInputs.parse(props)
        with inputs.ssh() as ssh:
            report(f"reading {len(inputs.names)} file(s) in {inputs.directory} back from {len(inputs.targets)} agent(s)")
            live = _each(inputs.targets, f"reading the files in {inputs.directory} back",
                         lambda t: ssh.hashes(t, inputs.directory, inputs.names))
        refreshed = {k: props[k] for k in INPUTS if k in props}
        return ReadResult(id_, {**props, "hashes": live}, refreshed)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = AgentFilesInputs.parse(props)
        with inputs.ssh() as ssh:
            _each(inputs.targets, f"removing the files from {inputs.directory}",
                  lambda t: ssh.remove(t, inputs.directory, inputs.names, remove_dir=True))

    # -- helpers --------------------------------------------------------------------------------
    def _deliver(self, new: AgentFilesInputs, old: AgentFilesInputs | None) -> dict[str, dict[str, str]]:
        """Make every agent in ``new`` hold exactly the new files (uploading only what differs),
        and take the old files off agents and directories that are no longer in the set."""
        files: dict[str, str] = new.files or {}
        directory, mode = new.directory, int(new.mode, 8)
        wanted = {n: sha256_hex(c) for n, c in files.items()}
        old_targets = {t.key: t for t in old.targets} if old else {}
        old_names = old.names if old else []
        old_dir = old.directory if old and old.directory else directory
        mode_changed = old is not None and old.mode != new.mode
        new_keys = {t.key for t in new.targets}

        with new.ssh() as ssh:
            def sync(target: AgentTarget) -> dict[str, str]:
                live = ssh.hashes(target, directory, sorted(files))
                upload = {n: c for n, c in files.items() if mode_changed or live.get(n) != wanted[n]}
                stale = [n for n in old_names if n not in files] if target.key in old_targets and old_dir == directory else []
                if upload or stale:
                    what = ", ".join(sorted(upload)) or "nothing new"
                    report(f"{target.key}:{directory}: uploading {what}" + (f", removing {', '.join(stale)}" if stale else ""))
                    ssh.upload(target, directory, upload, mode, remove=stale, last=new.last)
                if target.key in old_targets and old_dir != directory and old_names:
                    ssh.remove(target, old_dir, old_names)
                return dict(wanted)

            hashes = _each(new.targets, f"delivering {len(files)} file(s) to {directory}", sync)

            dropped = [t for k, t in old_targets.items() if k not in new_keys]
            if dropped and old_names:
                try:
                    _each(dropped, f"removing the files from {old_dir} on agents no longer listed",
                          lambda t: ssh.remove(t, old_dir, old_names))
                except AgentFilesError as exc:  # a decommissioned agent must not block the update
                    announce(f"{exc}; the files stay on those agents")
        return hashes


class AgentFiles(Resource, module="agents", name="Files"):
    """Files copied over SSH (SFTP) into a directory on DC/OS agents, kept as they are declared.

    Args:
        name: the Pulumi resource name.
        agents: where to deliver: ``[{"host": "10.0.4.7", "port": 22, "user": "core"}, …]``
            (port and user are optional).
        ssh_private_key: the private key the agents accept for ``user`` (kept secret).
        known_hosts: known_hosts lines with the agents' host keys; keys are always verified.
        directory: the absolute directory on the agents, created if missing (e.g. /opt/haproxy).
        files: file name -> text content; kept secret in state (some are private keys).
        mode: the files' mode, e.g. ``0o600`` (default ``0o644``).
        last: the file renamed into place after all the others, for a watcher on the agent that
            takes a new version of it as the sign that the whole set has arrived.
        opts: resource options.

    Outputs:
        hashes: agent (``user@host:port``) -> file name -> SHA-256 of what is on the agent.
    """

    hashes: pulumi.Output[dict]

    def __init__(self, name: str, agents: pulumi.Input[list], ssh_private_key: pulumi.Input[str],
                 known_hosts: pulumi.Input[str], directory: pulumi.Input[str], files: pulumi.Input[dict],
                 mode: pulumi.Input[int | str] = 0o644, last: str = "", opts: pulumi.ResourceOptions | None = None):
        props = {
            "agents": agents,
            "ssh_private_key": pulumi.Output.secret(ssh_private_key),
            "known_hosts": known_hosts,
            "directory": directory,
            "files": pulumi.Output.secret(files),
            "mode": pulumi.Output.from_input(mode).apply(lambda m: _mode(m) or m),
            "last": last,
            "hashes": None,
        }
        super().__init__(AgentFilesProvider(), name, props, opts)
