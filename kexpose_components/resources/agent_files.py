"""``AgentFiles``: files delivered over SSH to DC/OS agents, as a stack resource.

The seeds' manual step ``scp haproxy.pem haproxy.conf core@<public-agent>:/opt/haproxy``, kept
in state. Contract:
- ``check`` validates locally (at least one agent, an absolute ``directory``, plain file names,
  an octal ``mode``); failures name the field.
- ``diff`` compares content hashes per agent with the hashes last delivered or read back
  (``hashes``, the only per-file output, which holds names and SHA-256 and nothing secret):
  a changed file, an added or removed agent, another directory or mode updates in place.
- ``create``/``update`` read the agents' current hashes, upload only the files that differ
  (to a temporary name, then renamed over the old one) and remove files dropped from the set.
- ``read`` (``pulumi refresh``) downloads the files and hashes them: a file edited or deleted on
  an agent shows as drift, and the next ``up`` restores it.
- ``delete`` removes the files; a file or directory already gone is fine.
- ``ssh_private_key`` and ``files`` (some are private keys) are secret in state; host keys are
  always verified against ``known_hosts``.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

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
from kexpose_components.progress import announce, report
from kexpose_components.resources.unknowns import contains_unknown

INPUTS = ("agents", "ssh_private_key", "known_hosts", "directory", "files", "mode")
DEFAULT_MODE = "0644"


class AgentFilesError(Exception):
    """Delivering the files failed; the message names the agent(s) and what failed."""



def _mode(value: Any) -> str | None:
    """'0644' for 0o644 (420), '644', '0644' or '0o644'; None if it is not a permission mode
    (setuid/setgid/sticky bits make no sense for delivered files, and rejecting them catches a
    decimal 644 written where 0o644 was meant)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        n = int(value) if float(value).is_integer() else -1
    elif isinstance(value, str) and value.strip().removeprefix("0o") and \
            all(c in "01234567" for c in value.strip().removeprefix("0o")):
        n = int(value.strip().removeprefix("0o"), 8)
    else:
        return None
    return f"{n:04o}" if 0 <= n <= 0o777 else None


def _targets(props: dict[str, Any]) -> list[AgentTarget]:
    return [AgentTarget.from_dict(a) for a in props.get("agents") or []]


def _desired(props: dict[str, Any]) -> dict[str, dict[str, str]]:
    """agent key -> file name -> SHA-256 of what should be there."""
    files = {n: sha256_hex(c) for n, c in (props.get("files") or {}).items()}
    return {t.key: dict(files) for t in _targets(props)}


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


class AgentFilesProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        out = dict(news)
        agents = news.get("agents")
        if not contains_unknown(agents):
            if not isinstance(agents, list) or not agents:
                failures.append(CheckFailure("agents", "needs at least one agent, e.g. [{'host': '10.0.4.7'}] "
                                                       "(port defaults to 22, user to core)"))
            else:
                normalized = []
                for i, agent in enumerate(agents):
                    if not isinstance(agent, dict):
                        failures.append(CheckFailure(f"agents[{i}]", "must be a mapping {host, port, user}"))
                        continue
                    host, port, user = agent.get("host"), agent.get("port", DEFAULT_PORT), agent.get("user", DEFAULT_USER)
                    if not isinstance(host, str) or not host.strip() or any(c in host for c in " /@"):
                        failures.append(CheckFailure(f"agents[{i}].host", f"must be an agent's address or host name (got {host!r})"))
                    if port is None:
                        port = DEFAULT_PORT
                    if isinstance(port, bool) or not isinstance(port, (int, float)) or not float(port).is_integer() \
                            or not 1 <= int(port) <= 65535:
                        failures.append(CheckFailure(f"agents[{i}].port", f"must be a TCP port 1-65535 (got {port!r})"))
                    if user is None:
                        user = DEFAULT_USER
                    if not isinstance(user, str) or not VALID_USER.fullmatch(user):
                        failures.append(CheckFailure(f"agents[{i}].user", f"must be a user name, e.g. core (got {user!r})"))
                    if not failures:
                        normalized.append({"host": host.strip(), "port": int(port), "user": user})
                keys = [AgentTarget.from_dict(a).key for a in normalized]
                dupes = sorted({k for k in keys if keys.count(k) > 1})
                if dupes:
                    failures.append(CheckFailure("agents", f"lists {', '.join(dupes)} more than once"))
                if not failures:
                    out["agents"] = normalized
        key = news.get("ssh_private_key")
        if not contains_unknown(key) and (not isinstance(key, str) or "PRIVATE KEY" not in key):
            # Reported against the resource, field named in the text: a failure on a secret property
            # makes the engine print the property's value.
            failures.append(CheckFailure("", "ssh_private_key must be an SSH private key (PEM or OpenSSH format, "
                                                            "'-----BEGIN … PRIVATE KEY-----')"))
        known_hosts = news.get("known_hosts")
        if not contains_unknown(known_hosts) and (not isinstance(known_hosts, str) or not known_hosts.strip()):
            failures.append(CheckFailure("known_hosts", "is required: known_hosts lines for the agents "
                                                        "('<host> <key type> <key>'); host keys are always verified"))
        directory = news.get("directory")
        if not contains_unknown(directory):
            problem = check_directory(directory)
            if problem:
                failures.append(CheckFailure("directory", problem))
            else:
                out["directory"] = normalize_directory(directory)
        files = news.get("files")
        if not isinstance(files, dict) and not contains_unknown(files):
            failures.append(CheckFailure("", "files must be a mapping of file name -> content"))
        elif isinstance(files, dict):
            for name, content in files.items():
                problem = check_name(name)
                if problem:
                    failures.append(CheckFailure("", f"files[{name!r}]: {problem}"))
                elif not contains_unknown(content) and not isinstance(content, str):
                    failures.append(CheckFailure("", f"files[{name!r}]: content must be text"))
        mode = news.get("mode", DEFAULT_MODE)
        if not contains_unknown(mode):
            normalized_mode = _mode(DEFAULT_MODE if mode is None else mode)
            if normalized_mode is None:
                failures.append(CheckFailure("mode", f"must be a permission mode up to 0o777, e.g. 0o600 or '0644' (got {mode!r})"))
            else:
                out["mode"] = normalized_mode
        return CheckResult(out, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if any(contains_unknown(news.get(k)) for k in INPUTS):
            return DiffResult(changes=True, replaces=[])
        desired, live = _desired(news), olds.get("hashes") or {}
        delivered = _desired(olds)
        for key, files in sorted(live.items()):
            drifted = sorted(n for n in delivered.get(key, {}) if files.get(n) != delivered[key][n])
            if drifted:
                announce(f"{', '.join(drifted)} on {key}:{olds.get('directory')} changed on the agent since it was "
                         "delivered (or is missing); up restores it")
        settings = any(olds.get(k) != news.get(k) for k in ("ssh_private_key", "known_hosts", "directory", "mode", "agents"))
        return DiffResult(changes=desired != live or settings, replaces=[])

    def create(self, props: dict[str, Any]) -> CreateResult:
        hashes = self._deliver(props, olds=None)
        return CreateResult(uuid.uuid4().hex, {**props, "hashes": hashes})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, "hashes": self._deliver(news, olds)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        names = sorted(props.get("files") or {})
        directory = props["directory"]
        with self._ssh(props) as ssh:
            report(f"reading {len(names)} file(s) in {directory} back from {len(_targets(props))} agent(s)")
            live = _each(_targets(props), f"reading the files in {directory} back",
                         lambda t: ssh.hashes(t, directory, names))
        inputs = {k: props[k] for k in INPUTS if k in props}
        return ReadResult(id_, {**props, "hashes": live}, inputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        names = sorted(props.get("files") or {})
        directory = props["directory"]
        with self._ssh(props) as ssh:
            _each(_targets(props), f"removing the files from {directory}", lambda t: ssh.remove(t, directory, names))

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _ssh(props: dict[str, Any]) -> SshDelivery:
        try:
            return SshDelivery(props["ssh_private_key"], props["known_hosts"])
        except DeliveryError as exc:
            raise AgentFilesError(str(exc)) from None

    def _deliver(self, news: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, dict[str, str]]:
        """Make every agent in ``news`` hold exactly the new files (uploading only what differs),
        and take the old files off agents and directories that are no longer in the set."""
        files: dict[str, str] = news.get("files") or {}
        directory, mode = news["directory"], int(news.get("mode") or DEFAULT_MODE, 8)
        wanted = {n: sha256_hex(c) for n, c in files.items()}
        old_targets = {t.key: t for t in _targets(olds)} if olds else {}
        old_names = sorted((olds or {}).get("files") or {})
        old_dir = (olds or {}).get("directory", directory)
        mode_changed = olds is not None and olds.get("mode") != news.get("mode")
        new_targets = _targets(news)
        new_keys = {t.key for t in new_targets}

        with self._ssh(news) as ssh:
            def sync(target: AgentTarget) -> dict[str, str]:
                live = ssh.hashes(target, directory, sorted(files))
                upload = {n: c for n, c in files.items() if mode_changed or live.get(n) != wanted[n]}
                stale = [n for n in old_names if n not in files] if target.key in old_targets and old_dir == directory else []
                if upload or stale:
                    what = ", ".join(sorted(upload)) or "nothing new"
                    report(f"{target.key}:{directory}: uploading {what}" + (f", removing {', '.join(stale)}" if stale else ""))
                    ssh.upload(target, directory, upload, mode, remove=stale)
                if target.key in old_targets and old_dir != directory and old_names:
                    ssh.remove(target, old_dir, old_names)
                return dict(wanted)

            hashes = _each(new_targets, f"delivering {len(files)} file(s) to {directory}", sync)

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
        opts: resource options.

    Outputs:
        hashes: agent (``user@host:port``) -> file name -> SHA-256 of what is on the agent.
    """

    hashes: pulumi.Output[dict]

    def __init__(self, name: str, agents: pulumi.Input[list], ssh_private_key: pulumi.Input[str],
                 known_hosts: pulumi.Input[str], directory: pulumi.Input[str], files: pulumi.Input[dict],
                 mode: pulumi.Input[int | str] = 0o644, opts: pulumi.ResourceOptions | None = None):
        props = {
            "agents": agents,
            "ssh_private_key": pulumi.Output.secret(ssh_private_key),
            "known_hosts": known_hosts,
            "directory": directory,
            "files": pulumi.Output.secret(files),
            "mode": pulumi.Output.from_input(mode).apply(lambda m: _mode(m) or m),
            "hashes": None,
        }
        super().__init__(AgentFilesProvider(), name, props, opts)
