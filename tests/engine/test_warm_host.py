"""The warm provider host (tools/provider-host): the launcher the engine starts has a server that
has the host's imports done fork the host, hands it the launcher's stdio, argv, cwd and
environment, and the host ends with its launcher. Falls back to a cold host whenever the warm path
is not safe or not there.

The first tests run the real launcher and server on a small host script (so what the host saw can
be printed); the last one runs the real engine with kexpose's real host.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from pulumi import automation as auto

from tests.engine.hostprobe import MARK, HostProbe
from tests.support.engine import PROJECT_ROOT, workspace_options
from tests.support.waits import EVENTUALLY, wait_for

TOOLS = PROJECT_ROOT / "tools" / "provider-host"
HOST_SCRIPT = """\
import os, sys, time
print(f"pid={os.getpid()} ppid={os.getppid()} cwd={os.getcwd()} mark={os.environ.get('MARK')} argv={','.join(sys.argv[1:])}", flush=True)
print("to stderr", file=sys.stderr, flush=True)
if os.environ.get("HANG"):
    time.sleep(600)
sys.exit(int(os.environ.get("CODE", "0")))
"""


def servers(marker: str) -> list[int]:
    """Pids of warm host servers whose command line mentions ``marker`` (and of hosts they forked,
    which share it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "kexpose_host_server.py" in cmdline and marker in cmdline:
            found.append(int(proc.name))
    return found


def gone(pid: int) -> bool:
    """The process has exited (a zombie has closed its files; its command line empties earlier)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def listening(sockets: Path) -> Path | None:
    for path in sockets.glob("*.sock"):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(path))
            return path
        except OSError:
            pass
        finally:
            probe.close()
    return None


@pytest.fixture
def sockets() -> Iterator[Path]:
    """A private socket directory short enough for a unix socket path; its servers killed after."""
    path = Path(tempfile.mkdtemp(prefix="kx-hosts-"))
    try:
        yield path
    finally:
        for pid in servers(str(path)):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    """The real launcher and server beside a host script that prints what it was started with."""
    for name in ("kexpose_host_launcher.py", "kexpose_host_server.py"):
        shutil.copy(TOOLS / name, tmp_path / name)
    (tmp_path / "kexpose_dynamic_host.py").write_text(HOST_SCRIPT)
    return tmp_path


def env_for(sockets: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEXPOSE_WARM_HOST")}
    return {**env, "KEXPOSE_WARM_HOST_DIR": str(sockets), **extra}


def launch(tools: Path, env: dict[str, str], cwd: Path, *args: str) -> tuple[dict[str, str], str, int]:
    run = subprocess.run([sys.executable, "-S", "-u", str(tools / "kexpose_host_launcher.py"), *args],
                         env=env, cwd=cwd, capture_output=True, text=True, timeout=EVENTUALLY)
    fields = dict(item.split("=", 1) for item in run.stdout.split())
    return fields, run.stderr, run.returncode


def test_first_launch_runs_cold_the_next_is_forked_with_its_own_argv_cwd_env_and_status(tools, sockets, tmp_path):
    first, err, code = launch(tools, env_for(sockets, MARK="one"), tmp_path, "a", "b")
    assert (code, err, first["mark"], first["argv"]) == (0, "to stderr\n", "one", "a,b")
    assert int(first["ppid"]) == os.getpid()  # the launcher became the host itself
    path = wait_for(lambda: listening(sockets), "the first launch starts a server")
    assert path.stat().st_mode & 0o077 == 0, oct(path.stat().st_mode)  # this user's alone
    work = tmp_path / "elsewhere"
    work.mkdir()
    second, err, code = launch(tools, env_for(sockets, MARK="two", CODE="3"), work, "c")
    assert (code, err, second["mark"], second["argv"], second["cwd"]) == (3, "to stderr\n", "two", "c", str(work))
    assert int(second["ppid"]) in servers(str(sockets))  # forked by the server
    mode = sockets.stat().st_mode & 0o777
    assert mode == 0o700, oct(mode)


def test_a_forked_host_ends_with_its_launcher_and_releases_its_pipes(tools, sockets, tmp_path):
    launch(tools, env_for(sockets), tmp_path)
    wait_for(lambda: listening(sockets), "a server")
    launcher = subprocess.Popen([sys.executable, "-S", "-u", str(tools / "kexpose_host_launcher.py")],
                                env=env_for(sockets, HANG="1"), cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    line = launcher.stdout.readline().decode()
    host = int(dict(item.split("=", 1) for item in line.split())["pid"])
    assert host != launcher.pid
    launcher.kill()  # what the engine does to a plugin that does not stop on SIGINT
    launcher.wait()
    deadline = time.monotonic() + EVENTUALLY
    while True:  # the engine waits for EOF on the plugin's stdout: it comes once the host is gone
        assert time.monotonic() < deadline, "the host kept the launcher's stdout open"
        if select.select([launcher.stdout], [], [], 0.1)[0] and not os.read(launcher.stdout.fileno(), 4096):
            break
    launcher.stdout.close()
    wait_for(lambda: not Path(f"/proc/{host}").exists(), "the forked host exits")


def test_a_socket_directory_others_can_enter_is_not_used(tools, sockets, tmp_path):
    sockets.chmod(0o755)
    for _ in range(2):
        fields, _err, code = launch(tools, env_for(sockets), tmp_path)
        assert code == 0 and int(fields["ppid"]) == os.getpid()
    time.sleep(0.5)
    assert not list(sockets.iterdir()) and not servers(str(sockets))


def test_opt_out_and_a_dead_server_both_run_cold(tools, sockets, tmp_path):
    launch(tools, env_for(sockets), tmp_path)
    [server] = wait_for(lambda: listening(sockets) and servers(str(sockets)), "a server")
    fields, _err, _code = launch(tools, env_for(sockets, KEXPOSE_WARM_HOST="0"), tmp_path)
    assert int(fields["ppid"]) == os.getpid()
    os.kill(server, signal.SIGKILL)  # leaves its socket file behind
    wait_for(lambda: gone(server), "the server dies")
    fields, _err, code = launch(tools, env_for(sockets), tmp_path)
    assert code == 0 and int(fields["ppid"]) == os.getpid()
    [replacement] = wait_for(lambda: listening(sockets) and servers(str(sockets)), "a new server")
    fields, _err, _code = launch(tools, env_for(sockets), tmp_path)
    assert int(fields["ppid"]) == replacement != server


def test_a_host_outliving_its_server_does_not_keep_a_new_one_from_starting(tools, sockets, tmp_path):
    launch(tools, env_for(sockets), tmp_path)
    [server] = wait_for(lambda: listening(sockets) and servers(str(sockets)), "a server")
    hanging = subprocess.Popen([sys.executable, "-S", "-u", str(tools / "kexpose_host_launcher.py")],
                               env=env_for(sockets, HANG="1"), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    try:
        line = hanging.stdout.readline().decode()
        host = int(dict(item.split("=", 1) for item in line.split())["pid"])  # a fork: same command line
        os.kill(server, signal.SIGKILL)  # its forked host lives on
        wait_for(lambda: gone(server), "the server dies")
        launch(tools, env_for(sockets), tmp_path)  # cold, and starts a server
        [replacement] = wait_for(lambda: listening(sockets) and [p for p in servers(str(sockets)) if p != host],
                                 "a new server")
        assert replacement != server
    finally:
        hanging.kill()
        hanging.wait()
        hanging.stdout.close()


def test_a_server_closing_as_it_is_reached_is_replaced(tools, sockets, tmp_path):
    launch(tools, env_for(sockets), tmp_path)
    [server] = wait_for(lambda: listening(sockets) and servers(str(sockets)), "a server")
    path = listening(sockets)
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: gone(server), "the server dies")
    path.unlink()
    dying = socket.socket(socket.AF_UNIX)  # accepts, then closes without forking: a server going away
    dying.bind(str(path))
    dying.listen(1)
    closer = threading.Thread(target=lambda: dying.accept()[0].close(), daemon=True)
    closer.start()
    try:
        fields, _err, code = launch(tools, env_for(sockets), tmp_path)
        closer.join(EVENTUALLY)
    finally:
        dying.close()
    assert code == 0 and int(fields["ppid"]) == os.getpid()  # ran cold
    [replacement] = wait_for(lambda: listening(sockets) and servers(str(sockets)), "a new server")
    assert replacement != server


def test_an_idle_server_exits_and_removes_its_socket(tools, sockets, tmp_path):
    launch(tools, env_for(sockets, KEXPOSE_WARM_HOST_IDLE="1"), tmp_path)
    wait_for(lambda: servers(str(sockets)), "a server")
    wait_for(lambda: not servers(str(sockets)), "the idle server exits")
    assert not list(sockets.glob("*.sock"))


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to connect as another user")
def test_the_server_serves_only_its_own_user(tools, sockets, tmp_path):
    launch(tools, env_for(sockets), tmp_path)
    path = wait_for(lambda: listening(sockets), "a server")
    sockets.chmod(0o711)  # as if the directory's protection were lost: the peer check still holds
    path.chmod(0o777)
    client = ("import socket, struct, sys\n"
              "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
              "try:\n"
              "    socket.send_fds(s, [struct.pack('!I', 2) + b'{}'], [0, 1, 2])\n"
              "    print('forked' if s.recv(1) == b'S' else 'refused')\n"
              "except (ConnectionResetError, BrokenPipeError):\n    print('refused')\n")
    run = subprocess.run([shutil.which("python3", path="/usr/bin:/bin"), "-S", "-c", client, str(path)], user=65534, capture_output=True,
                         text=True, timeout=EVENTUALLY, cwd="/")
    assert run.stdout.strip() == "refused", run.stderr  # closed without forking (no b'S')
    assert "peer is another user" in path.with_name(path.name + ".log").read_text()


def test_the_engine_gets_a_forked_host_that_sees_each_runs_environment(engine_env, sockets):
    env = {MARK: "first", "KEXPOSE_WARM_HOST_DIR": str(sockets), "KEXPOSE_WARM_HOST_IDLE": "60"}
    run = {"n": 0}

    def program() -> None:
        probe = HostProbe("probe", run=str(run["n"]))
        for key in ("pid", "ppid", "parent", "cwd", "mark"):
            pulumi.export(key, getattr(probe, key))

    stack = auto.create_stack("warm", project_name="warmhost", program=program,
                              opts=workspace_options(engine_env, env_vars=env))
    try:
        first = {k: v.value for k, v in stack.up().outputs.items()}
        assert "pulumi-resource-pulumi-python" in first["parent"] and first["mark"] == "first"  # cold
        wait_for(lambda: listening(sockets), "the engine's launch starts a server")
        run["n"] = 1
        stack.workspace.env_vars[MARK] = "second"
        second = {k: v.value for k, v in stack.up().outputs.items()}
        assert "kexpose_host_server.py" in second["parent"] and second["ppid"] in servers(str(sockets))
        assert second["mark"] == "second" and second["cwd"] == first["cwd"]  # as a cold host has it
        wait_for(lambda: not Path(f"/proc/{second['pid']}").exists(), "the engine stops the forked host")
    finally:
        stack.destroy()
        shutil.rmtree(stack.workspace.work_dir, ignore_errors=True)
