"""kexpose's warm host server: a Python with the dynamic-provider host's imports done, which forks a
host for each launch (``kexpose_host_launcher.py``) instead of each launch paying them again.

Usage: ``python -u kexpose_host_server.py SOCKET HOST``. It listens on the unix socket SOCKET
(in a 0700 directory of the user's; each peer's uid is checked too), and for each connection
receives the launcher's stdin/stdout/stderr, argv, cwd, umask and environment, forks, and in the
child runs the script HOST (``kexpose_dynamic_host.py``) as ``__main__`` on those, as if it had
been started there. It tells the launcher ``S`` once the child exists and the child's exit status
when it is reaped. The child ends when its launcher's connection closes, so the engine stopping
the plugin stops it.

What is imported before forking is libraries only (the SDK, grpc, dill, and the third-party
packages kexpose's providers use): nothing that starts a thread, and nothing of the program's own,
which each child imports from its program's directory as a cold host would. It exits after
``KEXPOSE_WARM_HOST_IDLE`` seconds (default 300) without a host running; only one server per
socket runs (a lock file).
"""

import fcntl
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from typing import IO

#: Imported before any fork (with their parents). Each is optional: one that does not import is
#: left to the child. The first lines are what ``pulumi.dynamic.__main__`` and the host import.
PRELOAD = (
    "grpc", "google.protobuf.empty_pb2", "dill", "pulumi.dynamic", "pulumi.metadata", "pulumi.runtime.rpc",
    "pulumi.runtime._serialization", "pulumi.runtime._grpc_settings", "pulumi.runtime.proto.provider_pb2_grpc",
    "requests", "pydantic", "yaml", "jinja2", "jwt", "cryptography.x509",
    "cryptography.hazmat.primitives.serialization", "cryptography.hazmat.primitives.asymmetric.rsa",
)
MAX_MESSAGE = 1 << 20


def idle_seconds() -> float:
    try:
        return float(os.environ.get("KEXPOSE_WARM_HOST_IDLE", "300"))
    except ValueError:
        return 300.0


def preload() -> None:
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module missing here is imported (or reported) by the host
            pass
    if threading.active_count() != 1:  # forking a process with threads could copy a held lock
        raise SystemExit("a preloaded module started a thread; not serving")


def receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """The launcher's message: its stdio as three fds and a JSON header (length-prefixed)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    try:
        if len(fds) != 3 or len(data) < 4:
            raise ValueError("expected three descriptors and a header")
        size = struct.unpack("!I", data[:4])[0]
        if size > MAX_MESSAGE:
            raise ValueError("header too large")
        body = data[4:]
        while len(body) < size:
            chunk = conn.recv(size - len(body))
            if not chunk:
                raise ValueError("connection closed mid-header")
            body += chunk
        return json.loads(body), fds
    except Exception:
        for fd in fds:
            os.close(fd)
        raise


def same_user(conn: socket.socket) -> bool:
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid == os.getuid()


def die_with(conn: socket.socket) -> None:
    """In the child: end the process when the launcher's end of the connection closes."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os._exit(0)


def run_host(host: str, conn: socket.socket, fds: list[int], msg: dict) -> None:
    """In the child: become a host started by the launcher (never returns)."""
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(msg["cwd"])
        os.umask(int(msg["umask"]))
        os.environ.clear()
        os.environ.update(msg["env"])
        sys.argv = [host, *msg["argv"]]
        threading.Thread(target=die_with, args=(conn,), daemon=True, name="launcher").start()
        runpy.run_path(host, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - as an uncaught exception in a cold host: printed, status 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Server:
    """The accept/fork/reap loop: single-threaded, so a fork copies no lock another thread holds."""

    def __init__(self, listener: socket.socket, host: str, lock: IO[str]) -> None:
        self.listener, self.host, self.lock = listener, host, lock
        self.children: dict[int, socket.socket] = {}
        self.wake_r, self.wake_w = socket.socketpair()
        self.selector = selectors.DefaultSelector()

    def launch(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            if not same_user(conn):
                raise PermissionError("peer is another user")
            msg, fds = receive(conn)
        except (OSError, ValueError) as exc:
            print(f"kexpose host server: refused a launch: {exc}", file=sys.stderr)
            conn.close()
            return
        pid = os.fork()
        if pid == 0:
            self.become_child(conn, fds, msg)
        for fd in fds:  # the engine waits for its pipes to close: only the child may hold them
            os.close(fd)
        self.children[pid] = conn
        try:
            conn.sendall(b"S")
        except OSError:
            pass

    def become_child(self, conn: socket.socket, fds: list[int], msg: dict) -> None:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.selector.close()
        for sock in (self.listener, self.wake_r, self.wake_w, *self.children.values()):
            sock.close()
        self.lock.close()  # a host outliving its server must not keep the next server from starting
        conn.settimeout(None)
        run_host(self.host, conn, fds, msg)

    def reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(struct.pack("!i", os.waitstatus_to_exitcode(status)))
                except OSError:
                    pass
                conn.close()

    def serve(self, idle: float) -> None:
        self.wake_w.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        idle_since = time.monotonic()
        while self.children or time.monotonic() - idle_since < idle:
            for key, _ in self.selector.select(timeout=max(0.1, idle - (time.monotonic() - idle_since))):
                if key.fileobj is self.listener:
                    conn, _ = self.listener.accept()
                    self.launch(conn)
                else:
                    self.wake_r.recv(4096)
            self.reap()
            if self.children:
                idle_since = time.monotonic()


def main(path: str, host: str) -> None:
    os.umask(0o077)  # the socket and lock are this user's alone (each host gets its launcher's umask)
    lock = open(path + ".lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another server has this socket
    preload()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    inode = os.stat(path).st_ino
    try:
        Server(listener, host, lock).serve(idle_seconds())
    finally:
        listener.close()
        try:
            if os.stat(path).st_ino == inode:
                os.unlink(path)
        except OSError:
            pass


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: kexpose_host_server.py SOCKET HOST")
    main(sys.argv[1], sys.argv[2])
