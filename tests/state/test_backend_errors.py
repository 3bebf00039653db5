"""The `pulumi` wrapper with other backends: a wrong password or an unreachable database is one
line naming the URL without its password; s3:// and postgres:// URLs create no local directory."""

from __future__ import annotations

import socket
import subprocess

import pytest

from tests.support.engine import PROJECT_ROOT

from .conftest import Checkout

WRAPPER = PROJECT_ROOT / "scripts" / "pulumi"
SECRET = "not-the-password-4f1c"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def run_wrapper(cwd, url: str, *args: str, home=None) -> subprocess.CompletedProcess:
    env = Checkout(cwd, url).env(**({"PULUMI_HOME": str(home)} if home else {}))
    return subprocess.run([str(WRAPPER), *args, "--non-interactive"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("case", ["wrong password", "unreachable"])
def test_a_bad_database_is_one_masked_line(case, team, checkouts):
    a = checkouts()
    port = team.db.port if case == "wrong password" else str(closed_port())
    url = team.db.url(team.database, password=SECRET).replace(f":{team.db.port}/", f":{port}/")
    for args in (("stack", "ls"), ("preview", "--stack", "team")):
        out = run_wrapper(a.root, url, *args)
        assert out.returncode != 0
        assert SECRET not in out.stdout + out.stderr
        [line] = out.stderr.strip().splitlines()
        shown = url.replace(f":{SECRET}@", "@")
        assert line.startswith(f'error: unable to open state database "{shown}": failed to ping PostgreSQL: '), line
        reason = 'password authentication failed for user "kexpose"' if case == "wrong password" else "connection refused"
        assert reason in line


def test_the_wrapper_creates_a_directory_only_for_a_file_backend(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    for url in ("s3://bucket/x", "postgres://kexpose:pw@127.0.0.1:1/kexpose?sslmode=disable"):
        assert run_wrapper(cwd, url, "version", home=tmp_path / "home").returncode == 0
        assert list(cwd.iterdir()) == [], url
    run_wrapper(cwd, f"file://{cwd}/state", "version", home=tmp_path / "home")
    assert (cwd / "state").is_dir()
