"""Secrets scan. Every stack the reliability suite creates goes through ``scanned_stacks`` (see
conftest): before it is destroyed, its state files on disk, `pulumi stack export` without
--show-secrets and every engine output the test saw are searched for the session's password, any
extra secret the test registered and "PRIVATE KEY". This test adds the credential kinds the
fault matrix does not use (a service-account private key, a static token) and every operation."""

from __future__ import annotations

import copy

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kexpose_components.resources.edgelb_pool import EdgeLBPool
from kexpose_components.resources.marathon_app import MarathonApp

from .conftest import LEDGER, PASSWORD, USER
from .test_fault_matrix import APP, POOL


@pytest.mark.reliability
def test_no_credential_in_state_export_or_output(sim_factory, scanned_stacks, recorder):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    sim = sim_factory(auth="dcos", users={USER: PASSWORD}, service_accounts={"kexpose-sa": public_pem}, dataplane=False)
    token = requests.post(f"{sim.url}/acs/api/v1/auth/login", json={"uid": USER, "password": PASSWORD}, timeout=5).json()["token"]
    key_body = "".join(private_pem.splitlines()[1:-1])
    scanned_stacks.extra_secrets.extend([token, key_body[:64], key_body[-64:]])

    by_password = {"url": sim.url, "uid": USER, "password": PASSWORD}
    by_key = {"url": sim.url, "uid": "kexpose-sa", "private_key": private_pem}
    by_token = {"url": sim.url, "token": token}

    def program(version: int):
        def run():
            MarathonApp("worker", connection=by_key, app=dict(APP, labels={"v": str(version)}))
            MarathonApp("other", connection=by_token, app=dict(APP, id="/dev/other", labels={"v": str(version)}))
            pool = copy.deepcopy(POOL)
            pool["haproxy"]["frontends"][0]["bindPort"] = 6442 + version
            EdgeLBPool("pool", connection=by_password, pool=pool)
        return run

    stack = scanned_stacks(program(1), name="secrets")
    recorder.run(stack.preview, diff=True)
    recorder.run(stack.up)
    stack.set_program(program(2))
    recorder.run(stack.preview, diff=True)
    recorder.run(stack.up)
    assert recorder.run(stack.refresh).summary.resource_changes == {"same": 4}
    # positive control: the credentials really are in the state (encrypted), so the scan looks in the right place
    import json
    shown = json.dumps(stack.export_stack().deployment)  # the Automation API's export decrypts secrets
    assert PASSWORD in shown and "PRIVATE KEY" in shown and token in shown
    # the scan itself runs in scanned_stacks' teardown, before the stack is destroyed
    LEDGER["secrets: credential kinds checked"] += 3
