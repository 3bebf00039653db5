"""The simulator's DC/OS Secrets API over real HTTP, behind Admin Router's token check: create,
read, list, update, delete, the 409/404/403 answers, the size limit, and values kept encrypted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from kexpose_sim.config import SimConfig
from kexpose_sim.server import Simulator


def login(sim, uid: str = "bootstrapuser", password: str = "deleteme") -> dict[str, str]:
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": uid, "password": password}, timeout=5).json()["token"]
    return {"Authorization": f"token={token}"}


@pytest.fixture
def secrets_sim(sim_factory):
    return sim_factory(auth="dcos", dataplane=False, users={"bootstrapuser": "deleteme", "ci": "ci-pass"})


def url(sim, path: str) -> str:
    return f"{sim.url}/secrets/v1/secret/default/{path}"


def test_secret_lifecycle(secrets_sim):
    sim, auth = secrets_sim, login(secrets_sim)
    assert requests.get(url(sim, "kexpose/a"), timeout=5).status_code == 401  # Admin Router first
    created = requests.put(url(sim, "kexpose/a"), json={"value": "one", "description": "d"}, headers=auth, timeout=5)
    assert created.status_code == 201 and created.content == b""
    again = requests.put(url(sim, "kexpose/a"), json={"value": "x"}, headers=auth, timeout=5)
    assert again.status_code == 409 and again.json()["code"] == "ER_SECRET_EXISTS"
    assert requests.get(url(sim, "kexpose/a"), headers=auth, timeout=5).json() == \
        {"value": "one", "author": "bootstrapuser", "description": "d"}
    assert requests.patch(url(sim, "kexpose/a"), json={"value": "two"}, headers=auth, timeout=5).status_code == 204
    assert requests.get(url(sim, "kexpose/a"), headers=auth, timeout=5).json()["value"] == "two"
    requests.put(url(sim, "kexpose/sub/b"), json={"value": "b"}, headers=auth, timeout=5).raise_for_status()
    listed = requests.get(url(sim, "kexpose"), params={"list": "true"}, headers=auth, timeout=5).json()
    assert listed == {"array": ["a", "sub/b"]}
    assert requests.get(url(sim, ""), params={"list": "true"}, headers=auth, timeout=5).json() == {"array": ["kexpose/a", "kexpose/sub/b"]}
    assert requests.delete(url(sim, "kexpose/a"), headers=auth, timeout=5).status_code == 204
    missing = requests.get(url(sim, "kexpose/a"), headers=auth, timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == "ER_SECRET_NOT_FOUND"
    assert requests.patch(url(sim, "kexpose/a"), json={"value": "x"}, headers=auth, timeout=5).status_code == 404
    assert requests.delete(url(sim, "kexpose/a"), headers=auth, timeout=5).status_code == 404
    other_store = requests.get(f"{sim.url}/secrets/v1/secret/vault/x", headers=auth, timeout=5)
    assert other_store.status_code == 404 and other_store.json()["code"] == "ER_STORE_NOT_FOUND"


def test_bad_requests(secrets_sim):
    sim, auth = secrets_sim, login(secrets_sim)
    assert requests.put(url(sim, "x"), data="not json", headers=auth, timeout=5).status_code == 400
    assert requests.put(url(sim, "x"), json={"value": 3}, headers=auth, timeout=5).status_code == 400
    assert requests.put(url(sim, "bad%20name"), json={"value": "v"}, headers=auth, timeout=5).status_code == 400
    big = requests.put(url(sim, "big"), json={"value": "x" * (1024 * 1024 + 1)}, headers=auth, timeout=10)
    assert big.status_code == 400 and "maximum size" in big.json()["message"]
    assert requests.put(url(sim, "fits"), json={"value": "x" * (1024 * 1024)}, headers=auth, timeout=10).status_code == 201


def test_a_uid_writes_only_where_it_is_granted(secrets_sim):
    sim = secrets_sim
    requests.put(f"{sim.url}/_sim/secrets/grants/ci", json={"paths": ["kexpose"]}, timeout=5).raise_for_status()
    ci = login(sim, "ci", "ci-pass")
    assert requests.put(url(sim, "kexpose/ok"), json={"value": "v"}, headers=ci, timeout=5).status_code == 201
    denied = requests.put(url(sim, "elsewhere/x"), json={"value": "v"}, headers=ci, timeout=5)
    assert denied.status_code == 403 and denied.json()["code"] == "ER_FORBIDDEN"
    assert "dcos:secrets:default:/elsewhere/x" in denied.json()["message"]
    assert requests.get(url(sim, "kexposed"), headers=ci, timeout=5).status_code == 403  # a prefix is a path segment
    requests.put(f"{sim.url}/_sim/secrets/grants/ci", json={"paths": None}, timeout=5).raise_for_status()
    assert requests.put(url(sim, "elsewhere/x"), json={"value": "v"}, headers=ci, timeout=5).status_code == 201


def test_values_are_encrypted_at_rest_and_survive_a_restart(tmp_path):
    state_dir = tmp_path / "sim"
    sim = Simulator(SimConfig(state_dir=state_dir, auth="none"), dataplane=False).start()
    try:
        requests.put(f"{sim.base_url}/secrets/v1/secret/default/k/tls", json={"value": "PRIVATE-KEY-MATERIAL"},
                     timeout=5).raise_for_status()
        assert "PRIVATE-KEY-MATERIAL" not in requests.get(f"{sim.base_url}/_sim/state", timeout=5).text
    finally:
        sim.stop()
    on_disk = "".join(p.read_text(errors="replace") for p in Path(state_dir).rglob("*.json"))
    assert "k/tls" in json.loads((state_dir / "state.json").read_text())["secrets"]["secrets"]
    assert "PRIVATE-KEY-MATERIAL" not in on_disk
    assert oct((state_dir / "secrets.key").stat().st_mode & 0o777) == "0o600"
    again = Simulator(SimConfig(state_dir=state_dir, auth="none"), dataplane=False).start()
    try:
        assert requests.get(f"{again.base_url}/secrets/v1/secret/default/k/tls", timeout=5).json()["value"] == "PRIVATE-KEY-MATERIAL"
    finally:
        again.stop()
