"""Processes the simulator starts (HAProxy for tasks and pools): started, watched, stopped.

Every child gets a parent-death signal (``setpriv --pdeathsig KILL``), so even a simulator killed
with SIGKILL leaves no stray HAProxy behind; a clean stop terminates them all. Each child leads a
process group of its own, and a stop signals the whole group (SIGTERM, then SIGKILL after a
grace period), as Mesos' executor kills a task's process tree: a shell that runs HAProxy in the
background stops together with it. An exit nobody asked for is reported to the owner's callback
(a Marathon task then fails, like a crashed container).

The signal is set by ``setpriv`` rather than a ``preexec_fn``: Python code in a forked child of a
process that also runs gRPC threads (the Pulumi Automation API in tests) can abort in gRPC's fork
handlers before ``exec``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "KILL", "--"]


@dataclass
class Managed:
    key: str
    process: subprocess.Popen
    log: Path
    on_exit: Callable[[str, int, str], None] | None
    stopping: bool = False


def tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(text[-lines:])


class Supervisor:
    def __init__(self, poll: float = 0.1):
        self._lock = threading.Lock()
        self._procs: dict[str, Managed] = {}
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, args=(poll,), name="kexpose-sim-supervisor", daemon=True)
        self._watcher.start()

    def start(self, key: str, argv: list[str], log: Path,
              on_exit: Callable[[str, int, str], None] | None = None) -> Managed:
        self.stop(key)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            process = subprocess.Popen(DIE_WITH_PARENT + argv, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        managed = Managed(key, process, log, on_exit)
        with self._lock:
            self._procs[key] = managed
        return managed

    def running(self, key: str) -> bool:
        with self._lock:
            m = self._procs.get(key)
        return m is not None and m.process.poll() is None

    def signal(self, key: str, sig: int) -> None:
        """Send ``sig`` to the command itself (e.g. SIGUSR2 to an HAProxy master), not its group."""
        with self._lock:
            m = self._procs.get(key)
        if m is not None and m.process.poll() is None:
            try:
                os.kill(command_pid(m.process.pid), sig)
            except ProcessLookupError:
                pass  # it exited meanwhile: the watcher reports it

    def stop(self, key: str, grace: float = 2.0) -> None:
        with self._lock:
            m = self._procs.pop(key, None)
        if m is None:
            return
        m.stopping = True
        if m.process.poll() is None:
            _signal_group(m.process.pid, signal.SIGTERM)
            try:
                m.process.wait(grace)
            except subprocess.TimeoutExpired:
                _signal_group(m.process.pid, signal.SIGKILL)
                m.process.wait()

    def stop_all(self) -> None:
        self._stop.set()
        with self._lock:
            keys = list(self._procs)
        for key in keys:
            self.stop(key)

    def _watch(self, poll: float) -> None:
        while not self._stop.wait(poll):
            with self._lock:
                exited = [m for m in self._procs.values() if m.process.poll() is not None]
                for m in exited:
                    del self._procs[m.key]
            for m in exited:
                if m.on_exit is not None and not m.stopping:
                    m.on_exit(m.key, m.process.returncode, tail(m.log))


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass  # the whole group is gone already


def command_pid(pid: int) -> int:
    """The process that runs the command: ``pid`` itself, or — when ``pid`` is the ``unshare
    --fork`` of a container, which only waits for the PID namespace's first process — its child."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() == "unshare":
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return int(children[0]) if children else pid
    except OSError:
        pass
    return pid


def wait_alive(managed: Managed, seconds: float) -> int | None:
    """Give a new process ``seconds`` to fail at start-up; its exit code if it did."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code = managed.process.poll()
        if code is not None:
            return code
        time.sleep(0.02)
    return managed.process.poll()


def wait_listening(managed: Managed, address: str, ports: list[int], seconds: float) -> int | None:
    """Give a started process up to ``seconds`` to accept connections on ``address`` at every
    port; its exit code if it died meanwhile. A port still closed after that is left to the
    caller's health checks (the app may declare a port its process never binds)."""
    deadline = time.monotonic() + seconds
    waiting = list(ports)
    while waiting and time.monotonic() < deadline:
        code = managed.process.poll()
        if code is not None:
            return code
        try:
            socket.create_connection((address, waiting[0]), timeout=0.2).close()
            waiting.pop(0)
        except OSError:
            time.sleep(0.02)
    return managed.process.poll()
