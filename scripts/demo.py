"""`make demo` / `make demo-destroy`: the main job on the `local` stack, end to end.

up:      start the simulator (background, state in .kexpose/sim) unless it runs; give the agents'
         sshd our SSH key (as an operator adds a key to the public agents) and record their host
         keys; `pulumi up --stack local`; print the endpoints; `kubectl get namespaces` through
         every exposure with the generated kubeconfig.
destroy: `pulumi destroy --stack local`, then stop the simulator.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".kexpose"
SIM_PORT = int(os.environ.get("KEXPOSE_SIM_PORT", "18080"))
SIM_URL = f"https://127.0.0.1:{SIM_PORT}"  # Admin Router over HTTPS, signed by the cluster's own CA
SIM_CA = STATE / "sim" / "dcos-ca.crt"  # the simulator's CA, kept in its state directory
DCOS_CA = STATE / "dcos-ca.pem"  # the CA as fetched from /ca/dcos-ca.crt: the local stack's dcos.caBundleFile
PIDFILE = STATE / "sim.pid"
PULUMI = str(ROOT / ".venv" / "bin" / "pulumi")
ENV = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", "kexpose-local")}


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def sim_running() -> bool:
    if not SIM_CA.exists():
        return False
    try:
        return requests.get(f"{SIM_URL}/_sim/health", timeout=2, verify=str(SIM_CA)).ok
    except requests.RequestException:
        return False


def fetch_ca() -> None:
    """What `dcos cluster setup` does: fetch the cluster's CA from /ca/dcos-ca.crt and keep it."""
    DCOS_CA.write_text(requests.get(f"{SIM_URL}/ca/dcos-ca.crt", timeout=10, verify=str(SIM_CA)).text)


def start_simulator() -> None:
    if sim_running():
        say(f"simulator already running at {SIM_URL}")
        return
    STATE.mkdir(exist_ok=True)
    log = open(STATE / "sim.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kexpose_sim", "serve", "--tls", "--port", str(SIM_PORT), "--state-dir", str(STATE / "sim"),
         "--seed", str(ROOT / "stacks" / "local-cluster.yaml"), "--agent-network", "127.30.0"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    PIDFILE.write_text(str(proc.pid))
    deadline = time.monotonic() + 30
    while not sim_running():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"the simulator did not start; see {STATE / 'sim.log'}")
        time.sleep(0.2)
    say(f"simulator started at {SIM_URL} (pid {proc.pid}, log {STATE / 'sim.log'})")


def stop_simulator() -> None:
    if not PIDFILE.exists():
        return
    pid = int(PIDFILE.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.1)
    except ProcessLookupError:
        pass
    PIDFILE.unlink(missing_ok=True)
    say("simulator stopped")


def ssh_setup() -> None:
    """The key the agents accept, and their host keys (never trust-on-first-use)."""
    ssh = STATE / "ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    key = ssh / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kexpose-demo", "-f", str(key)], check=True)
    public = (ssh / "id_ed25519.pub").read_text()
    requests.put(f"{SIM_URL}/_sim/ssh/authorized-keys", json={"public_key": public}, timeout=10,
                 verify=str(SIM_CA)).raise_for_status()
    (ssh / "known_hosts").write_text(requests.get(f"{SIM_URL}/_sim/ssh/known-hosts", timeout=10, verify=str(SIM_CA)).text)


class StepFailed(Exception):
    """A pulumi command failed; it has already printed why."""


def pulumi(*args: str) -> None:
    if subprocess.run([PULUMI, *args], cwd=ROOT, env=ENV).returncode != 0:
        raise StepFailed(f"`pulumi {' '.join(args)}` failed (its output above says why)")


def output(name: str):
    out = subprocess.run([PULUMI, "stack", "output", name, "--json", "--stack", "local"], cwd=ROOT, env=ENV,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def kubectl_through_each() -> bool:
    tokens = {k["name"]: k["token"] for k in requests.get(f"{SIM_URL}/_sim/kubernetes", timeout=10, verify=str(SIM_CA)).json()}
    endpoints, contexts = output("endpoints"), output("contexts")
    kubeconfig = STATE / "kubeconfig"
    ok = True
    for key, url in endpoints.items():
        context = contexts[key]
        service = key.split("/", 1)[1]
        say(f"kubectl get namespaces via {key} ({url}, context {context})")
        result = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--context", context,
                                 "--token", tokens[service], "get", "namespaces"], capture_output=True, text=True)
        print(result.stdout or result.stderr, end="")
        ok = ok and result.returncode == 0
    return ok


def up() -> int:
    start_simulator()
    fetch_ca()
    ssh_setup()
    pulumi("stack", "select", "local", "--create")
    pulumi("up", "--yes", "--stack", "local")
    say("endpoints")
    print(json.dumps(output("endpoints"), indent=2))
    if not kubectl_through_each():
        return 1
    say("done: the demo's kubeconfig is .kexpose/kubeconfig; tear down with `make demo-destroy`")
    return 0


def destroy() -> int:
    if sim_running():
        pulumi("destroy", "--yes", "--stack", "local")
    stop_simulator()
    return 0


if __name__ == "__main__":
    try:
        sys.exit({"up": up, "destroy": destroy}[sys.argv[1] if len(sys.argv) > 1 else "up"]())
    except StepFailed as exc:
        sys.exit(f"\nkexpose demo: {exc}")
