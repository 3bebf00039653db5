"""The team backend's cost: `up`, a no-op `preview` and `destroy` of the demo's `local` stack (all
four exposures, simulator with its data plane) with the state in PostgreSQL (scripts/state-db.sh,
TLS verify-full on loopback) and in the file backend, same machine, same run, one run each.
Also records the DC/OS calls of a `preview --refresh` (what a preview identity must be allowed).

    .venv/bin/python -m bench.state_backend     # writes bench/results/state_backend.json
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

from bench.common import timed
from tests.support.engine import OFFLINE_SETTINGS, PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "state_backend.json"
AGENT_NETWORK = "127.31.0"  # not the demo's 127.30.0, so a running `make demo` is left alone


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_project(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (PROJECT_ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / rel, dest / rel)
    (dest / ".venv").symlink_to(PROJECT_ROOT / ".venv")


def start_simulator(project: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "kexpose_sim", "serve", "--port", str(port), "--state-dir",
                             str(project / ".kexpose" / "sim"), "--seed", str(project / "stacks" / "local-cluster.yaml"),
                             "--agent-network", AGENT_NETWORK], cwd=project, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "PYTHONPATH": str(project)})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/_sim/health", timeout=1).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit("the simulator did not start")


def prepare_stack(project: Path, sim_url: str) -> None:
    """The local stack pointed at this simulator and agent network; the agents accept our key."""
    ssh = project / ".kexpose" / "ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "id_ed25519")], check=True)
    requests.put(f"{sim_url}/_sim/ssh/authorized-keys", json={"public_key": (ssh / "id_ed25519.pub").read_text()},
                 timeout=10).raise_for_status()
    (ssh / "known_hosts").write_text(requests.get(f"{sim_url}/_sim/ssh/known-hosts", timeout=10).text)
    path = project / "stacks" / "Pulumi.local.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["kexpose:dcos"]["url"] = sim_url
    for exposure in doc["config"]["kexpose:exposures"]:
        exposure["agents"] = [f"{AGENT_NETWORK}.1"]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def pulumi(project: Path, backend: str, *args: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}, **OFFLINE_SETTINGS,
           "PULUMI_BACKEND_URL": backend, "PULUMI_CONFIG_PASSPHRASE": "kexpose-local"}
    out = subprocess.run([str(project / ".venv" / "bin" / "pulumi"), "--non-interactive", *args, "--stack", "local"],
                         cwd=project, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"pulumi {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")


def measure(project: Path, backend: str, sim_url: str) -> dict:
    pulumi(project, backend, "stack", "init")
    up, _ = timed(lambda: pulumi(project, backend, "up", "--yes"))
    preview, _ = timed(lambda: pulumi(project, backend, "preview", "--expect-no-changes"))
    requests.delete(f"{sim_url}/_sim/stats", timeout=5).raise_for_status()
    refresh_preview, _ = timed(lambda: pulumi(project, backend, "preview", "--refresh", "--expect-no-changes"))
    calls = requests.get(f"{sim_url}/_sim/stats", timeout=5).json()
    destroy, _ = timed(lambda: pulumi(project, backend, "destroy", "--yes"))
    return {"up_s": round(up, 2), "preview_s": round(preview, 2), "preview_refresh_s": round(refresh_preview, 2),
            "destroy_s": round(destroy, 2), "preview_refresh_calls": calls}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-state-") as tmp:
        root = Path(tmp)
        project = root / "project"
        copy_project(project)
        db = root / "db"
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "state-db.sh"), "start", str(db)], check=True,
                       capture_output=True)
        sim_url = f"http://127.0.0.1:{free_port()}"
        sim = None
        try:
            sim = start_simulator(project, int(sim_url.rsplit(":", 1)[1]))
            prepare_stack(project, sim_url)
            env = dict(line.split("=", 1) for line in (db / "env").read_text().splitlines())
            backends = {"file": f"file://{root}/file-state", "postgres": env["KEXPOSE_STATE_URL"].strip("'")}
            results = {name: measure(project, url, sim_url) for name, url in backends.items()}
        finally:
            if sim is not None:
                sim.terminate()
                sim.wait(30)
            subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "state-db.sh"), "stop", str(db)], check=False)
    pg, fs = results["postgres"], results["file"]
    results["ratio_postgres_over_file"] = {k: round(pg[k] / fs[k], 2) for k in ("up_s", "preview_s", "preview_refresh_s",
                                                                                "destroy_s")}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
