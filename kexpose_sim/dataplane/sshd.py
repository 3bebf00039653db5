"""SSH on the simulated agents: one real OpenSSH ``sshd`` per agent, SFTP only.

What the seeds do by hand (``scp haproxy.pem haproxy.conf core@<public-agent>:/opt/haproxy``)
works against the simulator as it does against a DC/OS agent on CoreOS: every agent listens on
``<agent address>:22`` with a host key of its own (kept under ``<state>/sshd/<agent>``), accepts
the login user (``core``) with a public key the simulator authorizes (``authorize``) and nothing
else (no passwords, no other users), and what lands arrives under that agent's filesystem root
(``agent_root``), where the agent's tasks find it through their ``hostPath`` volumes.

How it stays off the host, like the task containers (see ``container``): each ``sshd`` runs in a
private mount namespace where
- a tmpfs covers ``/run``: it holds sshd's privilege-separation directory (``/run/sshd``) and the
  mount point of the agent's root, so the host's ``/run`` is never touched;
- the agent's root is bind-mounted at ``/run/kexpose-agent``, the ``ChrootDirectory``. sshd wants
  every component of that path root-owned and not group/world-writable, which a state directory
  under ``/tmp`` (mode 1777) can never be; the mount gives it such a path, and the agent root
  itself is made root-owned 0755 (the only change to the state directory);
- ``/etc/passwd`` is overlaid with a copy that has the login user (uid 0 inside the agent, as
  ``core`` with ``sudo`` is in practice), so no user is added to this machine.

``ForceCommand internal-sftp`` serves SFTP from inside the chroot without any binaries there;
OpenSSH 9's ``scp`` speaks SFTP, so ``scp`` and ``sftp`` both work, and nothing else does.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from kexpose_sim.cluster import Agent
from kexpose_sim.dataplane.kubernetes import agent_root
from kexpose_sim.dataplane.supervisor import Supervisor, tail

log = logging.getLogger("kexpose_sim")

DEFAULT_PORT = 22
DEFAULT_USER = "core"
#: where, inside sshd's mount namespace, the agent's root is mounted (the chroot)
CHROOT_MOUNT = "/run/kexpose-agent"

_SETUP = r"""
set -e
ROOT="$1"; PASSWD="$2"; CONFIG="$3"; SSHD="$4"
mount -t tmpfs -o mode=755,size=1m kexpose-sshd /run
mkdir -p /run/sshd {chroot}
mount --bind "$ROOT" {chroot}
mount --bind "$PASSWD" /etc/passwd
exec "$SSHD" -D -e -f "$CONFIG"
"""


class SshdError(RuntimeError):
    """An agent's sshd cannot be set up or started (the message names the agent and why)."""


def sshd_binary() -> str | None:
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)  # sshd re-executes itself: it needs an absolute path
    return None


def openssh_version(sshd: str) -> tuple[int, int]:
    """(major, minor) of the installed sshd, e.g. (9, 2); (0, 0) when it cannot tell."""
    try:
        out = subprocess.run([sshd, "-V"], capture_output=True, text=True, timeout=10)
        text = out.stderr + out.stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0, 0
    m = re.search(r"OpenSSH_(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def known_hosts_name(address: str, port: int) -> str:
    """How known_hosts names a host: bare for port 22, ``[host]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (sshd's per-connection children call setsid(), so they
    leave its process group; they are found through their parents instead)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class AgentSshd:
    """The agents' sshd processes, their host keys and the login user's authorized keys.

    Args:
        state: the simulator's ``SimState`` (agents, addresses, state directory).
        supervisor: starts and stops the processes (keys ``sshd:<agent name>``).
        port: the port every agent's sshd listens on (each agent has its own address, so 22).
        user: the login user.
        agents: the agents that get an sshd (default: all of them).
    """

    def __init__(self, state, supervisor: Supervisor, port: int = DEFAULT_PORT, user: str = DEFAULT_USER,
                 agents: list[Agent] | None = None):
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
            raise SshdError(f"login user {user!r} is not a valid user name")
        self.state = state
        self.supervisor = supervisor
        self.port = int(port)
        self.user = user
        self._agents = agents
        self.dir = Path(state.config.state_dir).resolve() / "sshd"
        self.authorized_keys_file = self.dir / "authorized_keys" / user
        self._lock = threading.Lock()
        self._pids: dict[str, int] = {}

    # -- public API -------------------------------------------------------------------------------
    @property
    def agents(self) -> list[Agent]:
        return list(self._agents) if self._agents is not None else list(self.state.cluster.agents)

    def start(self) -> None:
        """Start (or restart) every agent's sshd; returns once each one is listening."""
        sshd = sshd_binary()
        if sshd is None:
            raise SshdError("the agents' SSH needs OpenSSH's sshd (Debian package openssh-server)")
        if shutil.which("unshare") is None:
            raise SshdError("the agents' SSH needs unshare (util-linux)")
        if self.dir.is_relative_to("/run"):
            raise SshdError(f"the state directory {self.dir.parent} is under /run, which the agents' sshd "
                            "replaces in its mount namespace; use a state directory elsewhere")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.authorized_keys_file.parent.mkdir(parents=True, exist_ok=True)
        self.authorized_keys_file.touch(exist_ok=True)
        self.authorized_keys_file.chmod(0o600)
        passwd = self._write_passwd()
        version = openssh_version(sshd)
        for agent in self.agents:
            self._start_agent(agent, sshd, passwd, version)

    def stop(self) -> None:
        """Stop every agent's sshd and any connection still open (no process is left behind)."""
        with self._lock:
            pids = dict(self._pids)
            self._pids.clear()
        for name, pid in pids.items():
            stragglers = _descendants(pid)
            self.supervisor.stop(self._key(name))
            for child in stragglers:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def running(self, agent: Agent) -> bool:
        return self.supervisor.running(self._key(agent.name))

    def authorize(self, public_key_openssh: str) -> None:
        """Let the login user in with this public key (one ``authorized_keys`` line, e.g.
        ``ssh-ed25519 AAAA… comment``); authorizing a key twice is harmless. Takes effect at once."""
        line = " ".join(public_key_openssh.strip().split())
        parts = line.split(" ")
        usage = "expected one OpenSSH public key line, e.g. 'ssh-ed25519 AAAAC3Nza… user@host'"
        if "PRIVATE KEY" in public_key_openssh:
            raise ValueError(f"that is a private key; {usage}")
        if "\n" in public_key_openssh.strip() or len(parts) < 2:
            raise ValueError(usage)
        check = subprocess.run(["ssh-keygen", "-l", "-f", "/dev/stdin"], input=line + "\n", capture_output=True,
                               text=True, timeout=10)
        if check.returncode != 0:
            raise ValueError(f"{usage} (ssh-keygen: {check.stderr.strip() or 'not a public key'})")
        with self._lock:
            self.authorized_keys_file.parent.mkdir(parents=True, exist_ok=True)
            existing = self.authorized_keys_file.read_text().splitlines() if self.authorized_keys_file.exists() else []
            if not any(l.split(" ")[:2] == parts[:2] for l in existing):
                existing.append(line)
            self.authorized_keys_file.write_text("".join(l + "\n" for l in existing))
            self.authorized_keys_file.chmod(0o600)

    def revoke_all(self) -> None:
        """Forget every authorized key."""
        with self._lock:
            self.authorized_keys_file.parent.mkdir(parents=True, exist_ok=True)
            self.authorized_keys_file.write_text("")
            self.authorized_keys_file.chmod(0o600)

    def authorized_keys(self) -> list[str]:
        if not self.authorized_keys_file.exists():
            return []
        return [l for l in self.authorized_keys_file.read_text().splitlines() if l.strip()]

    def host_key(self, agent: Agent) -> str:
        """The agent's public host key (``ssh-ed25519 AAAA…``), made on first use and then kept."""
        kind, blob = self._host_key_file(agent).with_suffix(".pub").read_text().split()[:2]
        return f"{kind} {blob}"

    def known_hosts(self) -> str:
        """known_hosts lines for every agent (``<address> <host key>``), for UserKnownHostsFile."""
        return "".join(f"{known_hosts_name(a.address, self.port)} {self.host_key(a)}\n" for a in self.agents)

    def describe(self) -> dict:
        """What the ``/_sim/ssh`` admin route answers."""
        return {
            "user": self.user,
            "port": self.port,
            "known_hosts": self.known_hosts(),
            "authorized_keys": self.authorized_keys(),
            "agents": [{"name": a.name, "address": a.address, "public": a.public, "port": self.port,
                        "host_key": self.host_key(a), "root": str(agent_root(self.state.config.state_dir, a.name)),
                        "running": self.running(a)} for a in self.agents],
        }

    # -- internals --------------------------------------------------------------------------------
    @staticmethod
    def _key(agent_name: str) -> str:
        return f"sshd:{agent_name}"

    def _agent_dir(self, agent: Agent) -> Path:
        d = self.dir / agent.name
        d.mkdir(parents=True, exist_ok=True)
        d.chmod(0o700)
        return d

    def _host_key_file(self, agent: Agent) -> Path:
        key = self._agent_dir(agent) / "ssh_host_ed25519_key"
        if not key.exists() or not key.with_suffix(".pub").exists():
            key.unlink(missing_ok=True)
            key.with_suffix(".pub").unlink(missing_ok=True)
            out = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kexpose-sim {agent.name}",
                                  "-f", str(key)], capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                raise SshdError(f"cannot make a host key for agent {agent.name}: {out.stderr.strip()}")
        key.chmod(0o600)
        return key

    def _write_passwd(self) -> Path:
        """/etc/passwd as sshd sees it: this machine's, with the login user as uid 0, home ``/``."""
        try:
            lines = Path("/etc/passwd").read_text().splitlines()
        except OSError:
            lines = ["root:x:0:0:root:/root:/bin/sh"]
        lines = [l for l in lines if l.split(":", 1)[0] != self.user]
        lines.append(f"{self.user}:x:0:0:{self.user} (kexpose simulated agent):/:/bin/sh")
        path = self.dir / "passwd"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o644)
        return path

    def _prepare_root(self, agent: Agent) -> Path:
        """The agent's root, root-owned 0755 as sshd's ChrootDirectory must be."""
        root = Path(agent_root(self.state.config.state_dir, agent.name)).resolve()
        root.mkdir(parents=True, exist_ok=True)
        st = root.stat()
        if st.st_uid != 0 or st.st_gid != 0:
            os.chown(root, 0, 0)
        if st.st_mode & 0o7777 != 0o755:
            root.chmod(0o755)
        return root

    def _config(self, agent: Agent, host_key: Path, version: tuple[int, int]) -> Path:
        lines = [
            f"ListenAddress {agent.address}:{self.port}",
            f'HostKey "{host_key}"',
            "PidFile none",
            f'AuthorizedKeysFile "{self.authorized_keys_file.parent}/%u"',
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "HostbasedAuthentication no",
            "PermitEmptyPasswords no",
            "PermitRootLogin prohibit-password",  # the login user is uid 0 inside the agent
            "UsePAM no",
            "StrictModes no",  # the state directory may live under /tmp
            f"AllowUsers {self.user}",
            f"ChrootDirectory {CHROOT_MOUNT}",
            "ForceCommand internal-sftp",
            "Subsystem sftp internal-sftp",
            "AllowTcpForwarding no",
            "AllowStreamLocalForwarding no",
            "AllowAgentForwarding no",
            "X11Forwarding no",
            "PermitTunnel no",
            "PermitTTY no",
            "PermitUserRC no",
            "UseDNS no",
            "PrintMotd no",
            "LoginGraceTime 30",
            "MaxStartups 64:30:256",
            "LogLevel VERBOSE",
        ]
        if version >= (9, 8):
            lines.append("PerSourcePenalties no")  # tests refuse keys on purpose; never lock 127.x out
        path = self._agent_dir(agent) / "sshd_config"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def _start_agent(self, agent: Agent, sshd: str, passwd: Path, version: tuple[int, int]) -> None:
        host_key = self._host_key_file(agent)
        root = self._prepare_root(agent)
        config = self._config(agent, host_key, version)
        log_file = self._agent_dir(agent) / "sshd.log"
        script = _SETUP.format(chroot=CHROOT_MOUNT)
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "kexpose-sshd",
                str(root), str(passwd), str(config), sshd]
        key = self._key(agent.name)
        with self._lock:
            old = self._pids.pop(agent.name, None)
        stragglers = _descendants(old) if old else []
        log_file.write_text("")  # the start check below reads only this start's messages
        managed = self.supervisor.start(key, argv, log_file, on_exit=self._exited)
        for child in stragglers:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with self._lock:
            self._pids[agent.name] = managed.process.pid
        code = self._wait_listening(managed)
        if code is not None:
            self.supervisor.stop(key)
            with self._lock:
                self._pids.pop(agent.name, None)
            raise SshdError(f"sshd for agent {agent.name} ({agent.address}:{self.port}) exited with {code} at "
                            f"start: {tail(log_file) or 'no output'} (log: {log_file})")

    @staticmethod
    def _exited(key: str, code: int, log_tail: str) -> None:
        log.warning("%s exited with %s (nobody stopped it): %s", key, code, log_tail or "no output")

    def _wait_listening(self, managed, seconds: float = 10.0) -> int | None:
        """None once sshd says it is listening on the agent's address; its exit code if it died."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            code = managed.process.poll()
            if code is not None:
                return code
            try:
                if "Server listening on" in managed.log.read_text(errors="replace"):
                    return None
            except OSError:
                pass
            time.sleep(0.02)
        code = managed.process.poll()
        if code is None:
            self.supervisor.stop(managed.key)
            return -1
        return code
