"""What the engine starts as ``pulumi-resource-pulumi-python``: kexpose's dynamic-provider host,
warm when it can be.

A cold host is a new Python that imports the SDK, grpc, dill and kexpose's libraries before it
can print its port: 0.3-0.5 s of every ``preview``/``up``/``refresh``/``destroy``, more than the
rest of the engine's work on a small stack. So this launcher (run with ``python -S``: stdlib only,
~10 ms) asks a **warm host server** (``kexpose_host_server.py``), which has those imports done, to
fork a host for it. It hands the server its stdin/stdout/stderr (``SCM_RIGHTS``), argv, working
directory, umask and environment; the forked host writes its port straight into the engine's
pipe, and dies when this launcher does (the engine's SIGINT/SIGKILL reach the launcher). This
launcher exits with the host's exit status.

Whenever the warm path is not available (first run, ``KEXPOSE_WARM_HOST=0``, a socket directory
that is not private to this user, a server that refuses) it runs the host itself, exactly as
before: ``exec python -u kexpose_dynamic_host.py``. A missing server is started in the background
for the next run. See docs/engine.md, "The warm provider host".
"""

import hashlib
import json
import os
import signal
import socket
import stat
import struct
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
HOST = os.path.join(HERE, "kexpose_dynamic_host.py")
SERVER = os.path.join(HERE, "kexpose_host_server.py")
#: What the server process keeps of the environment: what decides which modules it imports, and no
#: more (the engine's environment may hold a passphrase or a token; each host gets its own).
SERVER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "PYTHONPATH", "TMPDIR", "XDG_RUNTIME_DIR",
              "KEXPOSE_WARM_HOST_IDLE")
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes


def cold() -> None:
    """Become the host itself (never returns)."""
    os.execv(sys.executable, [sys.executable, "-u", HOST, *sys.argv[1:]])


def socket_dir() -> str | None:
    """The per-user directory of server sockets, or None unless it is this user's alone (0700)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    path = os.environ.get("KEXPOSE_WARM_HOST_DIR") or os.path.join(base, f"kexpose-host-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    private = stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
    return path if private else None


def server_key() -> str:
    """Names the server that fits this launch: same Python, same search path, same host code and
    same installed packages (a changed site-packages or host file means a new server; the old one
    times out)."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stamps = [sys.executable, sys.prefix, os.environ.get("PYTHONPATH", "")]
    for path in (HOST, SERVER, __file__, os.path.join(sys.prefix, "lib", version, "site-packages")):
        try:
            st = os.stat(path)
            stamps.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            stamps.append(path)
    return hashlib.sha256("\0".join(stamps).encode()).hexdigest()[:20]


def start_server(path: str) -> None:
    """Start the server for ``path`` in its own session, detached from the engine's pipes."""
    log = os.open(path + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        env = {k: os.environ[k] for k in SERVER_ENV if k in os.environ}
        actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                   (os.POSIX_SPAWN_DUP2, log, 1), (os.POSIX_SPAWN_DUP2, log, 2)]
        os.posix_spawn(sys.executable, [sys.executable, "-u", SERVER, path, HOST], env,
                       file_actions=actions, setsid=True)
    except OSError:
        pass  # the cold host runs either way
    finally:
        os.close(log)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def warm(sock: socket.socket) -> int | None:
    """Have the server on ``sock`` fork a host on our stdio; its exit status, or None if it would not."""
    umask = os.umask(0)
    os.umask(umask)
    payload = json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "umask": umask,
                          "env": dict(os.environ)}).encode()
    try:
        socket.send_fds(sock, [struct.pack("!I", len(payload)) + payload], [0, 1, 2])
        if recv_exactly(sock, 1) != b"S":
            return None  # refused before anything reached our pipes: the cold host is still right
    except OSError:
        return None
    status = recv_exactly(sock, 4)
    if len(status) < 4:
        return 1  # the server went away while its host ran: the host's own status is lost
    code = struct.unpack("!i", status)[0]
    return 128 - code if code < 0 else code


def main() -> None:
    # The engine stops a plugin with SIGINT, then SIGKILL: either ends this process at once, which
    # closes the socket, which ends the forked host.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if os.environ.get("KEXPOSE_WARM_HOST", "1") == "0":
        cold()
    directory = socket_dir()
    path = directory and os.path.join(directory, server_key() + ".sock")
    if not path or len(path) > MAX_SOCKET_PATH:
        cold()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:  # no server (yet, or any more): start one for the next run
        start_server(path)
        cold()
    code = warm(sock)
    if code is None:  # a server that was going away as we connected: make sure a new one starts
        start_server(path)
        cold()
    sys.exit(code)


if __name__ == "__main__":
    main()
