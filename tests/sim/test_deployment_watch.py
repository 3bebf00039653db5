"""The one deployment watcher per provider process (``kexpose_components.dcos.deployment_watch``)
against the simulator over HTTP: many waiters cost one stream and a few shared polls, a stream that
goes silent or drops never leaves a waiter waiting for ever, Ctrl-C ends every wait."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kexpose_components import cancellation
from kexpose_components.cancellation import Interrupted
from kexpose_components.dcos.client import DcosConnection, DcosSession
from kexpose_components.dcos.deployment_watch import FALLBACK_POLL, DeploymentWatcher
from kexpose_components.dcos.marathon import MarathonClient
from kexpose_sim.config import Timing

from tests.sim.test_marathon_api import sim_factory  # noqa: F401 (API-only sims)
from tests.support.waits import EVENTUALLY

N = 20


def client_of(url: str) -> MarathonClient:
    return MarathonClient(DcosSession(DcosConnection(url=url)))


def create_and_wait(client: MarathonClient, i: int, timeout: float = 60) -> None:
    app = {"id": f"/w/app-{i}", "cmd": "sleep 1000", "cpus": 0.01, "mem": 8}
    client.wait_for_deployments([client.put_app(app)], app["id"], timeout)


def calls(sim, route: str) -> int:
    return sum(n for k, n in sim.stats()["calls"].items() if route in k)


def test_many_waiters_share_one_stream_and_a_few_polls(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(task_launch=1.0, tick=0.01))
    client = client_of(sim.url)
    with ThreadPoolExecutor(N) as pool:
        list(pool.map(lambda i: create_and_wait(client, i), range(N)))
    stats = sim.stats()
    assert all(client.get_app(f"/w/app-{i}")["tasksRunning"] == 1 for i in range(N))
    assert calls(sim, "/v2/events") == 1  # one stream for every waiter
    polls = calls(sim, "GET /v2/deployments")
    assert polls <= 3, f"{polls} polls of /v2/deployments for {N} waiters: {stats['calls']}"


def test_a_silent_stream_is_covered_by_the_fallback_poll(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(task_launch=0.3, tick=0.01))
    client = client_of(sim.url)
    create_and_wait(client, 0)  # the stream is attached
    sim.set_faults(events_silent=True)  # still attached, but no event arrives any more
    started = time.monotonic()
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(lambda i: create_and_wait(client, i, timeout=30), range(1, 6)))
    waited = time.monotonic() - started
    assert all(client.get_app(f"/w/app-{i}")["tasksRunning"] == 1 for i in range(1, 6))
    assert calls(sim, "GET /v2/deployments") >= 1 and waited < 30  # ended by the poll, not the timeout
    assert waited >= 0.3  # and not before the deployments ended
    assert FALLBACK_POLL <= 5  # what bounds the delay a lost event costs


def test_a_dropped_stream_reconnects_and_the_waits_end(sim_factory):
    sim = sim_factory(auth="none", timing=Timing(task_launch=0.5, tick=0.01))
    client = client_of(sim.url)
    create_and_wait(client, 0)
    watcher = next(w for w in _watchers() if w.session is client.session)
    assert watcher.attached.is_set()
    sim.sim.state.events.close_all()  # every open stream is cut, as a Marathon restart would
    deadline = time.monotonic() + EVENTUALLY
    while watcher.attached.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    create_and_wait(client, 1, timeout=30)
    assert client.get_app("/w/app-1")["tasksRunning"] == 1
    deadline = time.monotonic() + EVENTUALLY
    while not watcher.attached.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watcher.attached.is_set() and calls(sim, "/v2/events") >= 2  # attached again


def test_ctrl_c_ends_every_wait(sim_factory):
    sim = sim_factory(auth="none")
    sim.set_faults(hang_deployments=True)
    client = client_of(sim.url)
    errors: list[BaseException] = []

    def wait(i: int) -> None:
        try:
            create_and_wait(client, i, timeout=120)
        except Interrupted as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    cancellation.CANCELLED.set()
    try:
        for t in threads:
            t.join(5)
        assert not any(t.is_alive() for t in threads) and len(errors) == 5
        assert all("interrupted (Ctrl-C) while waiting for deployment" in str(e) for e in errors)
    finally:
        cancellation.CANCELLED.clear()


def _watchers() -> list[DeploymentWatcher]:
    from kexpose_components.dcos import deployment_watch

    return list(deployment_watch._WATCHERS.values())


@pytest.fixture(autouse=True)
def _no_cancel_left():
    yield
    cancellation.CANCELLED.clear()
