"""The fault matrix with many resources in flight at once: N apps created by one ``up --parallel N``
(every create waiting on the one shared deployment watcher) under each fault. Whatever the faulty
run did, a rerun without the fault converges, refresh finds nothing changed, exactly the stack's
apps exist, and a no-op preview writes nothing. A silent event stream must not cost more than the
fallback poll: that ``up`` succeeds under the fault itself."""

from __future__ import annotations

import threading
import time

import pulumi
import pytest
from pulumi import automation as auto

from kexpose_components.resources.marathon_app import MarathonApp
from kexpose_sim.config import Timing

from .conftest import FULL, LEDGER, NOTES, PASSWORD, USER, free_port
from .test_fault_matrix import Cluster

N = 20
FAULTS = ("drop", "burst5xx", "hang", "restart", "events_silent", "lock409")
QUICK = {"restart", "events_silent", "hang"}
TIMEOUTS = pulumi.CustomTimeouts(create="3s", update="3s", delete="3s")


def apps(conn: dict, short: bool):
    def run():
        opts = pulumi.ResourceOptions(custom_timeouts=TIMEOUTS if short else None)
        for i in range(N):
            MarathonApp(f"app-{i}", connection=conn, adopt=True, opts=opts,
                        app={"id": f"/fleet/app-{i}", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8})
    return run


def cases():
    for fault in FAULTS:
        marks = [pytest.mark.reliability]
        if not FULL and fault not in QUICK:
            marks.append(pytest.mark.skip(reason="full matrix only (KEXPOSE_FULL_RELIABILITY=1)"))
        yield pytest.param(fault, id=f"{N}-in-flight-{fault}", marks=marks)


def up_killing_the_simulator(stack, recorder, cluster: Cluster, proc, restart) -> str:
    """``up`` in a thread; once every app's write went out, SIGKILL the simulator and start it again."""
    result: dict = {}

    def run():
        try:
            recorder.run(stack.up, parallel=N)
        except auto.errors.CommandError as err:
            result["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while cluster.writes() < N:  # every create has sent its PUT and now waits for its deployment
        assert time.monotonic() < deadline and thread.is_alive(), "the up never wrote"
        time.sleep(0.05)
    proc.kill()
    restart()
    thread.join(180)
    assert not thread.is_alive(), "the up hung after the simulator came back"
    return "failed" if "error" in result else "finished"


@pytest.mark.reliability
@pytest.mark.parametrize("fault", list(cases()))
def test_many_in_flight_then_rerun_converges(fault, sim_factory, sim_process, scanned_stacks, recorder, tmp_path):
    LEDGER["in flight: ran"] += 1
    if fault == "restart":
        args = ["--port", str(free_port()), "--auth", "dcos", "--user", f"{USER}:{PASSWORD}", "--no-dataplane"]
        state_dir = tmp_path / "restart-state"
        proc = sim_process(*args, "--deploy-seconds", "2", state_dir=state_dir)
        url = proc.url
    else:
        url = sim_factory(auth="dcos", users={USER: PASSWORD}, dataplane=False, timing=Timing(task_launch=1.0)).url
    cluster = Cluster(url)
    cluster.login()
    baseline = cluster.app_ids()
    conn = {"url": url, "uid": USER, "password": PASSWORD, "retries": 4, "backoff": 0.1}
    stack = scanned_stacks(apps(conn, short=fault == "hang"), name=f"fleet-{fault}")

    outcome = "finished"
    if fault == "restart":
        outcome = up_killing_the_simulator(stack, recorder, cluster, proc, lambda: sim_process(*args, state_dir=state_dir))
    else:
        if fault == "lock409":
            for i in range(0, N, 4):  # someone's deployments still running on a quarter of the apps
                r = cluster.call("PUT", f"/service/marathon/v2/apps/fleet/app-{i}",
                                 json={"id": f"/fleet/app-{i}", "cmd": "sleep 999", "cpus": 0.01, "mem": 8})
                assert r.status_code < 300, r.text
        elif fault == "burst5xx":
            cluster.faults(error_burst=N, error_status=503, paths=["/service/marathon/"])
        elif fault == "drop":
            cluster.faults(drop_burst=N // 2, paths=["/service/marathon/"])
        elif fault == "hang":
            cluster.faults(hang_deployments=True)
        elif fault == "events_silent":
            cluster.faults(events_silent=True)
        try:
            recorder.run(stack.up, parallel=N)
        except auto.errors.CommandError as err:
            outcome = "failed"
            assert "Traceback" not in str(err), str(err)[-3000:]
        if fault == "events_silent":
            assert outcome == "finished", "a silent event stream must cost a poll interval, not the run"
        if fault == "hang":
            assert outcome == "failed" and cluster.app_ids() - baseline == set(), "timed-out creates left apps behind"
        cluster.faults()

    rerun = recorder.run(stack.up, parallel=N)
    assert rerun.summary.result == "succeeded"
    refresh = recorder.run(stack.refresh)
    assert refresh.summary.resource_changes == {"same": N + 1}, refresh.summary.resource_changes
    assert cluster.app_ids() - baseline == {f"/fleet/app-{i}" for i in range(N)}
    before = cluster.writes()
    recorder.run(stack.preview, expect_no_changes=True)
    assert cluster.writes() == before, "a no-op preview wrote"
    LEDGER["in flight: converged"] += 1
    NOTES.append(f"{N} in flight, {fault}: first run {outcome}, rerun converged")
