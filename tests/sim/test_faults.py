"""Fault injection through the simulator's admin endpoint."""

from __future__ import annotations

import time

import pytest
import requests


def test_error_burst_hits_only_matching_requests(sim):
    sim.set_faults(error_burst=2, error_status=502, paths=["/v2/apps"], methods=["GET"])
    assert requests.get(f"{sim.marathon}/v2/info", timeout=5).status_code == 200  # not matched
    first = requests.get(f"{sim.marathon}/v2/apps", timeout=5)
    assert first.status_code == 502 and "message" in first.json()  # Marathon-style body
    assert requests.get(f"{sim.marathon}/v2/apps", timeout=5).status_code == 502
    assert requests.get(f"{sim.marathon}/v2/apps", timeout=5).status_code == 200  # burst over
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json()["injected"]["error"] == 2


def test_edgelb_errors_have_edgelb_shape(sim):
    sim.set_faults(error_burst=1, error_status=500)
    r = requests.get(f"{sim.edgelb}/v2/pools", timeout=5)
    assert r.status_code == 500 and r.json()["code"] == 500


def test_latency_is_added(sim):
    sim.set_faults(latency_ms=300)
    t0 = time.monotonic()
    requests.get(f"{sim.marathon}/v2/apps", timeout=5)
    assert time.monotonic() - t0 >= 0.3


def test_timeout_answers_503_after_the_delay(sim):
    sim.set_faults(timeout_rate=1.0, timeout_ms=200)
    t0 = time.monotonic()
    r = requests.get(f"{sim.marathon}/v2/apps", timeout=5)
    assert r.status_code == 503 and time.monotonic() - t0 >= 0.2


def test_dropped_connection(sim):
    sim.set_faults(drop_burst=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.marathon}/v2/apps", timeout=5)
    assert requests.get(f"{sim.marathon}/v2/apps", timeout=5).status_code == 200  # server still fine


def test_error_rate_is_a_share(sim):
    sim.set_faults(error_rate=0.5, seed=7)
    codes = [requests.get(f"{sim.marathon}/v2/apps", timeout=5).status_code for _ in range(40)]
    assert 5 < codes.count(503) < 35 and codes.count(200) + codes.count(503) == 40


def test_admin_rejects_unknown_fault_keys_and_can_clear(sim):
    r = requests.put(f"{sim.url}/_sim/faults", json={"eror_rate": 1}, timeout=5)
    assert r.status_code == 400 and "eror_rate" in r.json()["message"]
    sim.set_faults(error_rate=1.0)
    requests.delete(f"{sim.url}/_sim/faults", timeout=5)
    assert requests.get(f"{sim.marathon}/v2/apps", timeout=5).status_code == 200


def test_stats_count_calls_and_writes(sim):
    requests.delete(f"{sim.url}/_sim/stats", timeout=5)
    requests.get(f"{sim.marathon}/v2/apps", timeout=5)
    requests.put(f"{sim.marathon}/v2/apps/x", json={"cmd": "sleep 1", "instances": 0}, timeout=5)
    stats = sim.stats()
    assert stats["total"] == 2 and stats["writes"] == 1
    assert stats["calls"] == {"marathon GET /v2/apps": 1, "marathon PUT /v2/apps/x": 1}


def test_faults_from_the_command_line(sim_process):
    proc = sim_process("--auth", "none", "--faults", '{"error_burst": 1}')
    assert requests.get(f"{proc.url}/v2/apps", timeout=5).status_code == 503
    assert requests.get(f"{proc.url}/v2/apps", timeout=5).status_code == 200
