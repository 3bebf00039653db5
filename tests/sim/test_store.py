"""The simulator's persistence (kexpose_sim/store.py): an answered write is on disk, and writes
that arrive together share one snapshot instead of queueing for one each."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from kexpose_sim.store import StateStore


def test_concurrent_writes_share_snapshots_and_each_is_on_disk_when_answered(sim, monkeypatch):
    written: list[int] = []
    save = StateStore.save

    def slow_save(self, snapshot):  # the real write, made slow enough that writes overlap it
        time.sleep(0.05)
        save(self, snapshot)
        written.append(len(snapshot["marathon"]["apps"]))

    monkeypatch.setattr(StateStore, "save", slow_save)
    path = sim.sim.state.store.path
    start = threading.Barrier(20)

    def put(i: int) -> bool:
        start.wait()
        app = f"/store/app-{i}"
        r = requests.put(f"{sim.marathon}/v2/apps{app}", json={"cmd": "sleep 1000", "cpus": 0.1, "mem": 32}, timeout=30)
        r.raise_for_status()
        return app in json.loads(path.read_text())["marathon"]["apps"]  # keyed by app id

    with ThreadPoolExecutor(20) as pool:
        on_disk = list(pool.map(put, range(20)))
    assert all(on_disk), "a write was answered before a snapshot holding it was on disk"
    assert len(written) <= 10, f"20 concurrent writes took {len(written)} snapshots: they did not share"


def test_a_failed_write_fails_its_request_and_the_next_write_persists_both(sim, monkeypatch):
    save, failures = StateStore.save, []

    def failing_once(self, snapshot):
        if not failures:
            failures.append(1)
            raise OSError("disk full")
        save(self, snapshot)

    monkeypatch.setattr(StateStore, "save", failing_once)
    body = {"cmd": "sleep 1000", "cpus": 0.1, "mem": 32}
    assert requests.put(f"{sim.marathon}/v2/apps/store/first", json=body, timeout=10).status_code >= 500
    assert requests.put(f"{sim.marathon}/v2/apps/store/second", json=body, timeout=10).status_code < 300
    apps = set(json.loads(sim.sim.state.store.path.read_text())["marathon"]["apps"])
    assert {"/store/first", "/store/second"} <= apps
