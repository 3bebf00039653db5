"""DcosSecret through the real engine against the simulator's Secrets API over HTTP: lifecycle,
drift both ways, the value never in the state, adoption only on purpose, and a 403 that names
the setting and leaves nothing behind."""

from __future__ import annotations

import pytest
import requests
from pulumi import automation as auto

from kexpose_components.resources.dcos_secret import DcosSecret

VALUE = "-----BEGIN PRIVATE KEY-----\nnot-really-a-key-but-secret-1\n-----END PRIVATE KEY-----\n"


def program(conn, value=VALUE, path="kexpose/test/tls", **kwargs):
    def run():
        DcosSecret("secret", connection=conn, path=path, value=value, **kwargs)
    return run


def secret_url(sim, path="kexpose/test/tls"):
    return f"{sim.url}/secrets/v1/secret/default/{path}"


def live(sim, path="kexpose/test/tls", headers=None):
    r = requests.get(secret_url(sim, path), headers=headers, timeout=5)
    return r.json()["value"] if r.status_code == 200 else None


def test_lifecycle_drift_and_no_plaintext(sim, stack_factory):
    conn = {"url": sim.url}
    stack = stack_factory(program(conn))
    up = stack.up()
    assert up.summary.resource_changes == {"create": 2}
    assert live(sim) == VALUE
    requests.delete(f"{sim.url}/_sim/stats", timeout=5)
    stack.preview(expect_no_changes=True)
    stack.refresh()
    stack.preview(expect_no_changes=True)
    assert sim.stats()["writes"] == 0

    rotated = VALUE.replace("secret-1", "secret-2")
    stack.set_program(program(conn, rotated))
    preview = stack.preview()
    assert preview.change_summary == {"update": 1, "same": 1}
    assert "DC/OS secret kexpose/test/tls: its value changes" in preview.stdout + preview.stderr
    stack.up()
    assert live(sim) == rotated

    requests.patch(secret_url(sim), json={"value": "changed by hand"}, timeout=5).raise_for_status()
    stack.refresh()
    assert stack.preview().change_summary == {"update": 1, "same": 1}  # drift, seen through the hash
    stack.up()
    assert live(sim) == rotated

    requests.delete(secret_url(sim), timeout=5).raise_for_status()
    stack.refresh()
    stack.up()
    assert live(sim) == rotated

    texts = [stack.raw_state(), stack.plain_export(), up.stdout, preview.stdout]
    assert not any("not-really-a-key" in t or "changed by hand" in t for t in texts)
    stack.destroy()
    assert live(sim) is None


def test_an_existing_path_is_taken_over_only_on_purpose(sim, stack_factory):
    conn = {"url": sim.url}
    requests.put(secret_url(sim), json={"value": "someone else's"}, timeout=5).raise_for_status()
    stack = stack_factory(program(conn, setting="kexpose:exposures[0].secretsPath"))
    with pytest.raises(auto.errors.CommandError) as refused:
        stack.up()
    assert "kexpose:exposures[0].secretsPath: the DC/OS secret 'kexpose/test/tls' exists already" in str(refused.value)
    assert "Traceback" not in str(refused.value) and live(sim) == "someone else's"
    stack.set_program(program(conn, adopt=True))
    stack.up()
    assert live(sim) == VALUE


@pytest.fixture
def iam_sim(sim_factory):
    sim = sim_factory(auth="dcos", dataplane=False, users={"bootstrapuser": "deleteme", "ci": "ci-pass"})
    requests.put(f"{sim.url}/_sim/secrets/grants/ci", json={"paths": ["kexpose"]}, timeout=5).raise_for_status()
    return sim


def test_a_path_the_uid_may_not_write_is_one_line_naming_the_setting(iam_sim, stack_factory):
    sim = iam_sim
    conn = {"url": sim.url, "uid": "ci", "password": "ci-pass"}
    stack = stack_factory(program(conn, path="platform/tls", setting="kexpose:exposures[0].secretsPath"))
    with pytest.raises(auto.errors.CommandError) as denied:
        stack.up()
    message = str(denied.value)
    assert ("kexpose:exposures[0].secretsPath: uid 'ci' may not write the DC/OS secret 'platform/tls' (403" in message
            and "Traceback" not in message), message
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": "bootstrapuser", "password": "deleteme"},
                          timeout=5).json()["token"]
    listed = requests.get(f"{sim.url}/secrets/v1/secret/default/", params={"list": "true"},
                          headers={"Authorization": f"token={token}"}, timeout=5).json()
    assert listed == {"array": []}  # nothing half-made
    stack.set_program(program(conn, path="kexpose/ci/tls"))
    stack.up()
    assert live(sim, "kexpose/ci/tls", {"Authorization": f"token={token}"}) == VALUE
