"""Team state: a real PostgreSQL (started with scripts/state-db.sh, as `make state-db` does), git
checkouts of the project that share one stack in it, the real engine through the `pulumi`
wrapper and scripts/ci-stack.sh, and the simulator."""

from __future__ import annotations

import base64
import gzip
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import yaml

from tests.support.engine import OFFLINE_SETTINGS, PROJECT_ROOT
from tests.e2e.conftest import cluster_sim  # noqa: F401  (fixture)
from tests.e2e.test_exposures import public_address, wait_marathon_lb
from tests.sim.conftest import sim_factory  # noqa: F401  (fixture)

STATE_DB = PROJECT_ROOT / "scripts" / "state-db.sh"
PASSPHRASE = "team-stack-passphrase"
DCOS_USER, DCOS_PASSWORD = "bootstrapuser", "deleteme"
_names = itertools.count()


@dataclass
class StateDb:
    """One PostgreSQL server for the session; each test gets its own database in it."""

    dir: Path
    env: dict[str, str]

    @property
    def port(self) -> str:
        return self.env["PGPORT"]

    @property
    def ca(self) -> Path:
        return self.dir / "ca.pem"

    def url(self, database: str, user: str = "kexpose", password: str | None = None) -> str:
        """The backend URL as production has it: TLS, the server verified against its CA."""
        secret = self.env["KEXPOSE_STATE_PASSWORD"] if password is None else password
        return (f"postgres://{user}:{quote(secret, safe='')}@127.0.0.1:{self.port}/{database}"
                f"?sslmode=verify-full&sslrootcert={self.ca}")

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the server's private socket (what an admin does)."""
        out = subprocess.run(["bash", str(STATE_DB), "psql", str(self.dir), "-d", database, "-At"], input=sql,
                             capture_output=True, text=True, check=True, timeout=60)
        return out.stdout

    def create_database(self) -> str:
        name = f"kexpose_t{next(_names)}"
        self.psql(f"CREATE DATABASE {name} OWNER kexpose;")
        return name

    def restart(self) -> None:
        subprocess.run(["bash", str(STATE_DB), "restart", str(self.dir)], check=True, timeout=120)

    def rows(self, database: str) -> dict[str, bytes]:
        """pulumi_state decoded: each key's blob (base64 in a JSON object; gunzipped if gzipped).
        Keys start with the database name: Pulumi uses the URL's path as a prefix."""
        out = self.psql("SELECT key, data->>'data' FROM pulumi_state ORDER BY key;", database)
        rows = {}
        for line in out.splitlines():
            key, _, data = line.partition("|")
            blob = base64.b64decode(data)
            rows[key] = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        return rows

    def lock_keys(self, database: str) -> list[str]:
        return [k for k in self.rows(database) if k.startswith(f"{database}/.pulumi/locks/")]


@pytest.fixture(scope="session")
def state_server(tmp_path_factory) -> StateDb:
    where = tmp_path_factory.mktemp("state-db")
    subprocess.run(["bash", str(STATE_DB), "start", str(where)], check=True, capture_output=True, timeout=120)
    env = dict(line.split("=", 1) for line in (where / "env").read_text().splitlines())
    yield StateDb(where, {k: v.strip("'") for k, v in env.items()})
    subprocess.run(["bash", str(STATE_DB), "stop", str(where)], check=True, timeout=120)


@dataclass
class Team:
    """A test's database in the shared server, and the backend URL to it."""

    db: StateDb
    database: str

    @property
    def url(self) -> str:
        return self.db.url(self.database)

    def rows(self) -> dict[str, bytes]:
        return self.db.rows(self.database)

    def lock_keys(self) -> list[str]:
        return self.db.lock_keys(self.database)


@pytest.fixture
def team(state_server) -> Team:
    return Team(state_server, state_server.create_database())


def project_files() -> list[str]:
    """The project as a clone has it: tracked files plus new, not ignored ones."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True)
    return [p for p in out.stdout.split("\0") if p and (PROJECT_ROOT / p).is_file()]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@dataclass
class Checkout:
    """A git checkout of the project sharing the toolchain (.venv links to the repository's)."""

    root: Path
    backend_url: str

    def outside(self, name: str) -> Path:
        """A path next to the checkout for what is not part of it (PULUMI_HOME, logs, CI output)."""
        return self.root.parent / f"{self.root.name}-{name}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "KEXPOSE_DCOS_"))}
        env.update(OFFLINE_SETTINGS)
        env.update({"PULUMI_BACKEND_URL": self.backend_url, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
                    "PULUMI_HOME": str(self.outside("pulumi-home"))})
        env.update(extra)
        return env

    def pulumi(self, *args: str, check: bool = True, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        """The `pulumi` a user runs (.venv/bin/pulumi, the wrapper), in this checkout."""
        out = subprocess.run([str(self.root / ".venv" / "bin" / "pulumi"), "--non-interactive", *args], cwd=self.root,
                             env=self.env(**extra), capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def popen(self, *args: str, **extra: str) -> subprocess.Popen:
        """A background pulumi in its own process group (to kill it with its plugins); its
        output goes to ``proc.log``."""
        log = self.outside(f"pulumi-{next(_names)}.log")
        with log.open("w") as out:
            proc = subprocess.Popen([str(self.root / ".venv" / "bin" / "pulumi"), "--non-interactive", *args],
                                    cwd=self.root, env=self.env(**extra), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        proc.log = log
        return proc

    def ci(self, command: str, stack: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
        """scripts/ci-stack.sh as the workflow runs it: passphrase as PULUMI_CONFIG_PASSPHRASE_<STACK>."""
        env = self.env(**extra)
        env.pop("PULUMI_CONFIG_PASSPHRASE")
        env[f"PULUMI_CONFIG_PASSPHRASE_{stack.upper().replace('-', '_')}"] = PASSPHRASE
        env["KEXPOSE_CI_OUT"] = str(self.outside("ci-out"))
        out = subprocess.run(["bash", str(self.root / "scripts" / "ci-stack.sh"), command, stack], cwd=self.root,
                             env=env, capture_output=True, text=True, timeout=300)
        if check and out.returncode != 0:
            raise AssertionError(f"ci-stack.sh {command} {stack} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def stack_file(self, stack: str) -> Path:
        return self.root / "stacks" / f"Pulumi.{stack}.yaml"

    def write_config(self, stack: str, settings: dict[str, Any]) -> None:
        """Set the stack's kexpose: settings in its file (keeps encryptionsalt and secrets)."""
        path = self.stack_file(stack)
        doc = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
        config = {k: v for k, v in (doc.get("config") or {}).items() if not isinstance(v, dict) or "secure" in v}
        config.update({f"kexpose:{k}": v for k, v in settings.items()})
        doc["config"] = config
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def export(self, stack: str) -> dict:
        return json.loads(self.pulumi("stack", "export", "--stack", stack).stdout)

    def commit(self, message: str) -> None:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)


def link_toolchain(root: Path) -> None:
    (root / ".venv").symlink_to(PROJECT_ROOT / ".venv")


@pytest.fixture
def checkouts(tmp_path, team):
    """make(): checkout A, a fresh git repository of the project; clone(a): B, `git clone` of A.
    Stacks left in the backend are destroyed at the end (the simulator is thrown away anyway)."""
    made: list[Checkout] = []

    def make() -> Checkout:
        root = tmp_path / "a"
        for rel in project_files():
            dest = root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / rel, dest)
        for stale in (root / "stacks").glob("Pulumi.*.yaml"):
            stale.unlink()
        git(root, "init", "-q", "-b", "main")
        (root / ".git" / "info" / "exclude").write_text(".venv\n")  # a link here: .gitignore's `.venv/` skips only a directory
        link_toolchain(root)
        checkout = Checkout(root, team.url)
        checkout.commit("project")
        made.append(checkout)
        return checkout

    def clone(origin: Checkout, name: str = "b") -> Checkout:
        root = tmp_path / name
        git(tmp_path, "clone", "-q", str(origin.root), str(root))
        link_toolchain(root)
        checkout = Checkout(root, origin.backend_url)
        made.append(checkout)
        return checkout

    make.clone = clone
    yield make


def mlb_settings(sim, port: int = 6443, **exposure: Any) -> dict[str, Any]:
    """A small stack: one Marathon-LB exposure of the simulator's `kubernetes` (one app, one probe)."""
    return {
        "dcos": {"url": sim.url, "uid": DCOS_USER},
        "clusters": [{"service": "kubernetes"}],
        "exposures": [{"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": port,
                       "agents": [public_address(sim)], **exposure}],
    }


@pytest.fixture
def team_sim(cluster_sim):
    """The simulator with Marathon-LB running (the probe goes through it)."""
    wait_marathon_lb(cluster_sim)
    return cluster_sim


def init_stack(checkout: Checkout, stack: str, settings: dict[str, Any], password: str | None = DCOS_PASSWORD) -> None:
    """What an operator does once: stack init in the team backend, config, secret, commit."""
    checkout.pulumi("stack", "init", stack)
    checkout.write_config(stack, settings)
    if password is not None:
        checkout.pulumi("config", "set", "--secret", "kexpose:dcosPassword", password, "--stack", stack)
    checkout.commit(f"stack {stack}")


def marathon_as_admin(sim, method: str, path: str) -> dict | list:
    """Call Marathon as an admin (bootstrapuser) would, with the DC/OS CLI or curl."""
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": DCOS_USER, "password": DCOS_PASSWORD},
                          timeout=5).json()["token"]
    response = requests.request(method, f"{sim.marathon}{path}", headers={"Authorization": f"token={token}"}, timeout=5)
    response.raise_for_status()
    return response.json()


def marathon_get(sim, path: str) -> dict | list:
    return marathon_as_admin(sim, "GET", path)


def marathon_delete(sim, path: str) -> dict | list:
    return marathon_as_admin(sim, "DELETE", path)


def marathon_apps(sim) -> list[str]:
    """The app ids Marathon holds."""
    return sorted(a["id"] for a in marathon_get(sim, "/v2/apps")["apps"])


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants: Pulumi starts its plugins in process groups of their own,
    so killing the group of `pulumi` would leave the language host and providers running."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, as a lost machine would end them."""
    for p in process_tree(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(predicate, timeout: float = 60, what: str = "condition") -> None:
    """Poll until predicate() holds (synchronisation, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout}s"
        time.sleep(0.05)


def resource_summary(export: dict) -> dict[str, dict]:
    """URN -> (type, id, inputs, outputs) of a `stack export`, to compare two states."""
    return {r["urn"]: {"type": r["type"], "id": r.get("id"), "inputs": r.get("inputs"), "outputs": r.get("outputs")}
            for r in export["deployment"].get("resources", [])}
