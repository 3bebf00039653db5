"""Ctrl-C during ``pulumi up``: the run ends within seconds, not at the deployment timeout, what
was half-made is undone, and a rerun converges. Real CLI (as a user runs it, SIGINT to its process
group as a terminal sends it), the project's program, the simulator with a deployment that never ends."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import requests

from tests.support.engine import engine_root

from .test_exposures import api, public_address, wait_marathon_lb


def test_ctrl_c_during_a_wait_ends_the_run_within_seconds_and_a_rerun_converges(cluster_sim, project_stack):
    sim = cluster_sim
    wait_marathon_lb(sim)
    agent = public_address(sim)
    stack = project_stack("interrupt")
    stack.configure({"dcos": {"url": sim.url, "uid": "bootstrapuser"}, "clusters": [{"service": "kubernetes"}],
                     "exposures": [{"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443,
                                    "agents": [agent], "appId": "/kexpose/mlb"}]},
                    secrets={"dcosPassword": "deleteme"})
    sim.set_faults(hang_deployments=True)  # the app's deployment never ends: up would wait its 600 s
    run = subprocess.Popen([str(engine_root() / "bin" / "pulumi"), "up", "--yes", "--skip-preview", "--non-interactive",
                            "--stack", "interrupt"], cwd=stack.root, env={**os.environ, **stack.engine_env.as_env()},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while "app" not in api(sim, f"{sim.marathon}/v2/apps/kexpose/mlb"):
            assert run.poll() is None and time.monotonic() < deadline, "up ended before the app was created"
            time.sleep(0.2)
        time.sleep(1.5)  # well inside the wait for its deployment
        interrupted = time.monotonic()
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode != 0
    assert took < 10, f"the run took {took:.1f}s to end after Ctrl-C:\n{output}"
    assert "interrupted (Ctrl-C) while waiting for" in output and "Traceback" not in output, output
    assert "app" not in api(sim, f"{sim.marathon}/v2/apps/kexpose/mlb"), "the half-made app was left behind"
    requests.delete(f"{sim.url}/_sim/faults", timeout=5)
    assert stack.up().summary.result == "succeeded"
    assert api(sim, f"{sim.marathon}/v2/apps/kexpose/mlb")["app"]["tasksRunning"] == 1
    assert set(stack.preview().change_summary) == {"same"}
