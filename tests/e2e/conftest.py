"""End-to-end: the project's own program (``__main__.py`` through the language host, real engine)
against a simulator with a real data plane."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from pulumi import automation as auto

from tests.support.engine import PROJECT_ROOT, create_stack, workspace_options
from tests.providers.conftest import StackDriver, throwaway  # noqa: F401  (shared helpers)
from tests.sim.conftest import sim, sim_factory  # noqa: F401  (fixtures)


class ProjectStack:
    """A stack of the real project, in a scratch copy (stack config files stay out of the repo)."""

    def __init__(self, root: Path, engine_env, name: str = "e2e"):
        self.root = root
        self.engine_env = engine_env
        (root / "stacks").mkdir(parents=True)
        shutil.copy(PROJECT_ROOT / "__main__.py", root / "__main__.py")
        text = (PROJECT_ROOT / "Pulumi.yaml").read_text().replace("virtualenv: .venv", f"virtualenv: {PROJECT_ROOT / '.venv'}")
        (root / "Pulumi.yaml").write_text(text)
        self.stack = create_stack(name, workspace_options(engine_env), work_dir=root)
        self.file = root / "stacks" / f"Pulumi.{name}.yaml"

    def configure(self, settings: dict[str, Any], secrets: dict[str, str] | None = None) -> None:
        doc = yaml.safe_load(self.file.read_text()) if self.file.exists() else {}
        doc = doc or {}
        doc["config"] = {f"kexpose:{k}": v for k, v in settings.items()}
        self.file.write_text(yaml.safe_dump(doc))
        if secrets:  # one `config set-all`: each CLI call that encrypts derives the passphrase key again
            self.stack.set_all_config({f"kexpose:{k}": auto.ConfigValue(v, secret=True) for k, v in secrets.items()})

    def __getattr__(self, item):
        return getattr(self.stack, item)


@pytest.fixture
def project_stack(tmp_path, engine_env):
    return throwaway(lambda name="e2e": ProjectStack(tmp_path / f"project-{name}", engine_env, name))


@pytest.fixture
def cluster_sim(sim_factory, tmp_path):
    """A simulator with auth and Marathon-LB installed, its default timeouts scaled to 2 s."""
    seed = tmp_path / "seed.yaml"
    seed.write_text(yaml.safe_dump({
        "agents": [{"name": "public-1", "public": True}, {"name": "private-1", "public": False}],
        "kubernetes": ["kubernetes", "dev/kubernetes01", "dev/kubernetes02"],
        "marathon_lb": {"env": {"SIM_TIMEOUT_CLIENT": "2s", "SIM_TIMEOUT_SERVER": "2s"}},
    }))
    return sim_factory(auth="dcos", seed_file=seed)


@pytest.fixture
def ssh_files(cluster_sim, tmp_path) -> dict[str, str]:
    """An SSH key the agents accept (as an operator would authorize it) and their host keys."""
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    requests.put(f"{cluster_sim.url}/_sim/ssh/authorized-keys", json={"public_key": (tmp_path / "id_ed25519.pub").read_text()},
                 timeout=10).raise_for_status()
    (tmp_path / "known_hosts").write_text(requests.get(f"{cluster_sim.url}/_sim/ssh/known-hosts", timeout=10).text)
    return {"user": "core", "privateKeyFile": str(key), "knownHostsFile": str(tmp_path / "known_hosts")}

