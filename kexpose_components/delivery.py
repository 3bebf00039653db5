"""Files onto DC/OS agents over SSH, with the real OpenSSH client (``sftp -b``).

The seeds' manual step ``scp haproxy.pem haproxy.conf core@<public-agent>:/opt/haproxy``, made
repeatable: upload a set of files into a directory on an agent (created like ``mkdir -p``), each
written to a temporary name, ``chmod``-ed and renamed over the old one (readers never see half a
file); remove them; and read their SHA-256 back (downloaded to a private temporary directory and
hashed here) to detect drift.

Security: the private key is written to a 0600 file in a 0700 temporary directory for the
duration of one ``SshDelivery`` and removed afterwards; it is never logged or put in an error.
Host keys are always verified against the given known_hosts text (``StrictHostKeyChecking=yes``,
no agent, no user ``~/.ssh/config``): an agent whose key is unknown or changed is refused with a
message that says so.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kexpose_components.errors import KexposeError

#: what file names and directory components may contain (no '/', spaces, quotes or glob characters)
SAFE_NAME = re.compile(r"[A-Za-z0-9._+@=,~-]+")
VALID_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
TEMP_SUFFIX = ".kexpose-upload"
DEFAULT_USER = "core"
DEFAULT_PORT = 22

_MISSING = ("not found", "No such file or directory")


class DeliveryError(KexposeError):
    """Delivering files to an agent failed; the message names the agent and what failed."""


@dataclass(frozen=True)
class AgentTarget:
    """One agent to deliver to: ``user@host:port``."""

    host: str
    port: int = DEFAULT_PORT
    user: str = DEFAULT_USER

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentTarget:
        return cls(str(data["host"]), int(data.get("port") or DEFAULT_PORT), str(data.get("user") or DEFAULT_USER))

    @property
    def key(self) -> str:
        """How this agent is named in state (``core@127.81.23.1:22``)."""
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """How errors name it: the host, with the port when it is not 22."""
        return self.host if self.port == DEFAULT_PORT else f"{self.host}:{self.port}"


def sha256_hex(content: str | bytes) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


def check_name(name: Any) -> str | None:
    """Why ``name`` cannot be a delivered file's name, or None."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty file name"
    if "/" in name:
        return f"{name!r} is a file name, not a path: it must not contain '/' (set 'directory' for where files go)"
    if name in (".", "..") or not SAFE_NAME.fullmatch(name) or name.endswith(TEMP_SUFFIX):
        return (f"{name!r} is not a usable file name: use letters, digits and . _ - + @ = , ~ "
                "(no spaces, quotes or glob characters), not '.' or '..'")
    return None


def check_directory(directory: Any) -> str | None:
    """Why ``directory`` cannot be the target directory, or None."""
    if not isinstance(directory, str) or not directory.startswith("/"):
        return f"must be an absolute path on the agent, e.g. /opt/haproxy (got {directory!r})"
    parts = [p for p in directory.split("/") if p]
    if not parts:
        return "must not be / itself: name a directory, e.g. /opt/haproxy"
    bad = [p for p in parts if p in (".", "..") or not SAFE_NAME.fullmatch(p)]
    if bad:
        return (f"{directory!r} has unusable component(s) {', '.join(map(repr, bad))}: use letters, digits and "
                ". _ - + @ = , ~ (no spaces, quotes, glob characters, '.' or '..')")
    return None


def normalize_directory(directory: str) -> str:
    return "/" + "/".join(p for p in directory.split("/") if p)


def _q(path: str) -> str:
    """A path quoted for an sftp batch file (names are already restricted to safe characters)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _explain(agent: AgentTarget, stderr: str, action: str) -> str:
    """A one-line reason from ssh/sftp's stderr, naming the agent."""
    lines = [l.strip() for l in stderr.splitlines() if l.strip() and not set(l.strip()) <= {"@"}]
    text = " ".join(lines)
    host = agent.label
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or "Host key verification failed" in text and "Offending" in text:
        fingerprint = re.search(r"(SHA256:[A-Za-z0-9+/=]+)", text)
        return (f"the host key of {host} does not match known_hosts: the agent presented "
                f"{fingerprint.group(1) if fingerprint else 'another key'}. If the agent was rebuilt, put its new "
                "key into known_hosts; otherwise something is intercepting the connection")
    if re.search(r"No \S+ host key is known for|Host key for .* not known|host key is not known", text) or \
            "Host key verification failed" in text:
        return (f"the host key of {host} is not in known_hosts (add a line '{host if agent.port == 22 else f'[{agent.host}]:{agent.port}'}"
                " <key type> <key>' for it, e.g. from ssh-keyscan run where you trust the network)")
    if "Load key" in text or "incorrect passphrase" in text:
        why = re.sub(r'^Load key "[^"]*":\s*', "", _first(lines, "Load key", "passphrase"))
        return (f"the SSH private key cannot be used for {host}: {why} "
                "(it must be an unencrypted private key in OpenSSH or PEM format)")
    if "Permission denied" in text and ("publickey" in text or "password" in text or "keyboard" in text):
        return (f"{host} refused the SSH key for user {agent.user} ({_first(lines, 'Permission denied')}); "
                "authorize the public key of ssh_private_key for that user on the agent")
    if "Connection refused" in text:
        return f"cannot connect to {agent.host} port {agent.port}: connection refused (is sshd running on the agent?)"
    if "timed out" in text:
        return f"cannot connect to {agent.host} port {agent.port}: connection timed out"
    if "Could not resolve hostname" in text or "Name or service not known" in text:
        return f"cannot resolve the agent host {agent.host!r}"
    if "No route to host" in text or "Network is unreachable" in text:
        return f"cannot reach {agent.host} port {agent.port}: {_first(lines, 'No route', 'unreachable')}"
    useful = [l for l in lines if not l.startswith("sftp>")]
    # "-mkdir" of a directory that exists fails harmlessly; name the command that stopped the batch
    useful = [l for l in useful if not l.startswith("remote mkdir")] or useful
    detail = "; ".join(useful)[-600:] or "no message"
    return f"{action} on {host} failed: {detail}"


def _first(lines: list[str], *needles: str) -> str:
    for line in lines:
        if any(n in line for n in needles):
            return line
    return lines[-1] if lines else ""


class SshDelivery:
    """One SSH identity and known_hosts, used for any number of agents. Use as a context manager:
    the private key lives in a 0600 temporary file only inside the ``with`` block.

    Args:
        private_key: the private key text (OpenSSH or PEM format, unencrypted).
        known_hosts: known_hosts lines for the agents (``<host> <key type> <key>``).
        connect_timeout: seconds to wait for an agent to answer.
        timeout: seconds one transfer (one sftp session) may take in all.
    """

    def __init__(self, private_key: str, known_hosts: str, connect_timeout: float = 10.0, timeout: float = 300.0):
        for tool in ("sftp", "ssh"):
            if shutil.which(tool) is None:
                raise DeliveryError(f"delivering files to agents needs the OpenSSH client ({tool} not found; "
                                    "Debian package openssh-client)")
        self._private_key = private_key if private_key.endswith("\n") else private_key + "\n"
        self._known_hosts = known_hosts if known_hosts.endswith("\n") else known_hosts + "\n"
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._dir: Path | None = None

    def __enter__(self) -> SshDelivery:
        self._dir = Path(tempfile.mkdtemp(prefix="kexpose-ssh-"))
        self._dir.chmod(0o700)
        key = self._dir / "id"
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(self._private_key)
        (self._dir / "known_hosts").write_text(self._known_hosts)
        return self

    def __exit__(self, *exc) -> None:
        if self._dir is not None:
            key = self._dir / "id"
            if key.exists():  # overwrite before unlinking: the key never lingers in a free block we left
                key.write_bytes(b"\0" * key.stat().st_size)
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    # -- operations ---------------------------------------------------------------------------
    def upload(self, agent: AgentTarget, directory: str, files: Mapping[str, str | bytes], mode: int = 0o644,
               remove: list[str] | tuple[str, ...] = (), remove_dir: bool = False, last: str = "") -> None:
        """Write ``files`` (name -> content) into ``directory`` on ``agent`` with ``mode``, creating
        the directory and its parents as needed, and remove the files named in ``remove`` (a
        missing one is fine), then with ``remove_dir`` the directory if that left it empty (one
        holding someone else's files stays). One SSH connection. Each file is written to a
        temporary name and renamed into place, in name order but ``last`` after all others: a
        reader waiting for a new ``last`` (the HAProxy reloader) finds the rest already there."""
        directory = self._checked(directory, list(files) + list(remove))
        work = self._work_dir()
        try:
            lines = []
            if files:
                parts = [p for p in directory.split("/") if p]
                lines += [f"-mkdir {_q('/' + '/'.join(parts[:i]))}" for i in range(1, len(parts) + 1)]
            for n, (name, content) in enumerate(sorted(files.items(), key=lambda item: (item[0] == last, item[0]))):
                local = work / f"f{n}"
                local.write_bytes(content.encode() if isinstance(content, str) else content)
                local.chmod(0o600)
                temp = f"{directory}/.{name}{TEMP_SUFFIX}"
                lines += [f"put {_q(str(local))} {_q(temp)}", f"chmod {mode:o} {_q(temp)}",
                          f"rename {_q(temp)} {_q(directory + '/' + name)}"]
            lines += [f"-rm {_q(directory + '/' + name)}" for name in sorted(remove)]
            if remove_dir:
                lines.append(f"-rmdir {_q(directory)}")
            if not lines:
                return
            stderr = self._sftp(agent, lines, work, "uploading files to " + directory)
            self._raise_unless_missing(agent, stderr, f"removing files from {directory}", remove_dir)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def remove(self, agent: AgentTarget, directory: str, names: list[str] | tuple[str, ...],
               remove_dir: bool = False) -> None:
        """Remove the named files from ``directory`` on ``agent``; files (or a directory) already
        gone are fine. With ``remove_dir`` the directory goes too, if nothing else is in it."""
        self.upload(agent, directory, {}, remove=list(names), remove_dir=remove_dir)

    def hashes(self, agent: AgentTarget, directory: str, names: list[str] | tuple[str, ...]) -> dict[str, str]:
        """SHA-256 (hex) of each named file in ``directory`` on ``agent``; files that are not
        there are left out."""
        directory = self._checked(directory, list(names))
        if not names:
            return {}
        work = self._work_dir()
        try:
            ordered = sorted(names)
            lines = [f"-get {_q(directory + '/' + name)} {_q(str(work / f'f{n}'))}" for n, name in enumerate(ordered)]
            stderr = self._sftp(agent, lines, work, f"reading files from {directory}")
            self._raise_unless_missing(agent, stderr, f"reading files from {directory}")
            out = {}
            for n, name in enumerate(ordered):
                local = work / f"f{n}"
                if local.is_file():
                    out[name] = hashlib.sha256(local.read_bytes()).hexdigest()
            return out
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # -- internals ----------------------------------------------------------------------------
    @staticmethod
    def _checked(directory: str, names: list[str]) -> str:
        problem = check_directory(directory)
        if problem:
            raise DeliveryError(f"directory {problem}")
        for name in names:
            problem = check_name(name)
            if problem:
                raise DeliveryError(f"file name {problem}")
        return normalize_directory(directory)

    def _work_dir(self) -> Path:
        if self._dir is None:
            raise RuntimeError("use SshDelivery as a context manager: with SshDelivery(key, known_hosts) as ssh: …")
        return Path(tempfile.mkdtemp(prefix="xfer-", dir=self._dir))

    def _ssh_options(self, agent: AgentTarget) -> list[str]:
        assert self._dir is not None
        options = {
            "UserKnownHostsFile": str(self._dir / "known_hosts"),
            "GlobalKnownHostsFile": "/dev/null",
            "StrictHostKeyChecking": "yes",
            "CheckHostIP": "no",
            "UpdateHostKeys": "no",
            "HashKnownHosts": "no",
            "BatchMode": "yes",
            "IdentitiesOnly": "yes",
            "IdentityAgent": "none",
            "PasswordAuthentication": "no",
            "KbdInteractiveAuthentication": "no",
            "PreferredAuthentications": "publickey",
            "ConnectTimeout": str(int(self.connect_timeout)),
            "ServerAliveInterval": "15",
            "ServerAliveCountMax": "3",
            "User": agent.user,
        }
        argv = ["-F", "/dev/null", "-i", str(self._dir / "id"), "-P", str(agent.port)]
        for k, v in options.items():
            argv += ["-o", f"{k}={v}"]
        return argv

    def _sftp(self, agent: AgentTarget, lines: list[str], work: Path, action: str) -> str:
        """Run a batch on the agent; its stderr (ignored-error lines included) if it succeeded."""
        batch = work / "batch"
        batch.write_text("\n".join(lines) + "\n")
        host = f"[{agent.host}]" if ":" in agent.host else agent.host
        argv = ["sftp", "-b", str(batch), *self._ssh_options(agent), "--", host]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=self.timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"{action} on {agent.label} timed out after {self.timeout:.0f}s") from None
        if out.returncode != 0:
            raise DeliveryError(_explain(agent, out.stderr, action))
        return out.stderr

    @staticmethod
    def _raise_unless_missing(agent: AgentTarget, stderr: str, action: str, removing_dir: bool = False) -> None:
        """Errors of ``-`` (ignore-error) commands other than "not there" still fail the step
        (but a directory that is not empty stays, when ``removing_dir``)."""
        problems = [l.strip() for l in stderr.splitlines()
                    if l.strip() and not any(m in l for m in _MISSING) and not l.startswith("sftp>")
                    and "mkdir" not in l and not (removing_dir and "rmdir" in l)]
        if problems:
            raise DeliveryError(f"{action} on {agent.label} failed: {'; '.join(problems)[-600:]}")
