"""The DC/OS session against real servers: re-login on 401, TLS verification on by default,
errors that carry the API's own message."""

from __future__ import annotations

import time

import pytest
import requests

from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession


def test_expired_token_triggers_one_fresh_login(sim_factory):
    dcos = sim_factory(auth="dcos", users={"ops": "pw"})
    requests.put(f"{dcos.url}/_sim/auth/token-lifetime", json={"seconds": 1}, timeout=5).raise_for_status()
    session = DcosSession(DcosConnection(url=dcos.url, uid="ops", password="pw"))
    assert session.request("GET", "/service/marathon/v2/apps").json() == {"apps": []}
    time.sleep(1.5)  # the token has expired: Admin Router answers 401, the session logs in again
    assert session.request("GET", "/service/marathon/v2/apps").json() == {"apps": []}


def test_wrong_credentials_and_static_tokens_give_clear_errors(sim_factory):
    dcos = sim_factory(auth="dcos", users={"ops": "pw"})
    with pytest.raises(DcosApiError) as err:
        DcosSession(DcosConnection(url=dcos.url, uid="ops", password="nope")).request("GET", "/service/marathon/v2/apps")
    assert "401" in str(err.value) and "Invalid credentials" in str(err.value)
    with pytest.raises(DcosApiError) as err:
        DcosSession(DcosConnection(url=dcos.url, token="not-a-token")).request("GET", "/service/marathon/v2/apps")
    assert "unauthorized" in str(err.value)


def test_credentials_from_the_environment_replace_the_stacks(sim_factory, monkeypatch):
    dcos = sim_factory(auth="dcos", users={"ops": "pw", "preview": "read-only"})
    stack = DcosConnection(url=dcos.url, uid="ops", password="pw")
    monkeypatch.setenv("KEXPOSE_DCOS_UID", "preview")
    monkeypatch.setenv("KEXPOSE_DCOS_PASSWORD", "read-only")
    requests.put(f"{dcos.url}/_sim/auth/forbidden/ops", json={"forbidden": True}, timeout=5).raise_for_status()
    session = DcosSession(stack)  # would be refused as ops: 403
    assert session.request("GET", "/service/marathon/v2/apps").json() == {"apps": []}
    assert (session.connection.uid, session.connection.password) == ("preview", "read-only")
    monkeypatch.delenv("KEXPOSE_DCOS_PASSWORD")
    monkeypatch.setenv("KEXPOSE_DCOS_TOKEN", "not-a-token")  # one identity, never a mix of two
    assert DcosSession(stack).connection.password is None
    monkeypatch.delenv("KEXPOSE_DCOS_TOKEN")
    assert DcosSession(stack).connection == stack  # a uid alone replaces nothing


def test_api_messages_and_details_reach_the_error(sim):
    session = DcosSession(DcosConnection(url=sim.url))
    with pytest.raises(DcosApiError) as err:
        session.request("PUT", "/service/marathon/v2/apps/x", json={"cmd": "x", "portDefinitions": [{"port": 80}, {"port": 80}]})
    assert "422: Object is not valid" in str(err.value) and "Ports must be unique." in str(err.value)


def test_tls_is_verified_by_default(sim, tmp_path):
    """A real TLS endpoint (a simulated apiserver): no CA -> refused with a fix; its CA -> talks."""
    k8s = requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()[0]
    url = f"https://{k8s['vip_address']}:6443"
    with pytest.raises(DcosApiError) as err:
        DcosSession(DcosConnection(url=url, retries=0)).request("GET", "/")
    assert "TLS verification failed" in str(err.value) and "verify: false" in str(err.value)
    verified = DcosSession(DcosConnection(url=url, ca_bundle=k8s["ca"], retries=0))
    with pytest.raises(DcosApiError) as err:  # TLS fine; the apiserver itself answers 403
        verified.request("GET", "/")
    assert err.value.status == 403
    unverified = DcosSession(DcosConnection(url=url, verify=False, retries=0))
    assert unverified.request("GET", "/", expect=(403,)).status_code == 403
