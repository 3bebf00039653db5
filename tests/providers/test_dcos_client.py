"""The DC/OS session against real servers: re-login on 401, TLS verification on by default,
errors that carry the API's own message, one session and CA file per process."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession, shared_session
from tests.support.engine import PROJECT_ROOT


def test_expired_token_triggers_one_fresh_login(sim_factory):
    dcos = sim_factory(auth="dcos", users={"ops": "pw"})
    # 4 s: long enough that a token is still valid when it is first used on a loaded machine (make
    # test runs four workers on two cores), short enough to expire within the test
    requests.put(f"{dcos.url}/_sim/auth/token-lifetime", json={"seconds": 4}, timeout=5).raise_for_status()
    session = DcosSession(DcosConnection(url=dcos.url, uid="ops", password="pw"))
    assert session.request("GET", "/service/marathon/v2/apps").json() == {"apps": []}
    time.sleep(4.5)  # the token has expired: Admin Router answers 401, the session logs in again
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


def test_one_ca_file_per_bundle_removed_when_the_process_exits(sim):
    """A provider host serves many calls: the CA bundle is written once, and gone after exit."""
    ca = requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()[0]["ca"]
    script = (
        "import sys\n"
        "from kexpose_components.dcos.client import DcosConnection, DcosSession\n"
        "ca = sys.stdin.read()\n"
        "paths = {DcosSession(DcosConnection(url=u, ca_bundle=ca)).verify for u in ('https://a', 'https://b', 'https://a')}\n"
        "assert len(paths) == 1, paths\n"
        "path = paths.pop()\n"
        "assert open(path).read() == ca\n"
        "print(path)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], input=ca, capture_output=True, text=True, check=True,
                         cwd=PROJECT_ROOT)
    path = Path(out.stdout.strip())
    assert path.name.startswith("kexpose-ca-") and not path.exists()


def test_shared_session_serves_concurrent_calls_and_survives_close(sim):
    connection = DcosConnection(url=sim.url)
    session = shared_session(connection)
    assert shared_session(DcosConnection(url=sim.url)) is session  # one per connection per process
    with ThreadPoolExecutor(max_workers=4) as pool:  # the provider host runs four calls at once
        answers = list(pool.map(lambda _: session.request("GET", "/service/marathon/v2/apps").json(), range(12)))
    assert answers == [{"apps": []}] * 12
    with session:
        pass  # closed on leaving the block ...
    assert session.request("GET", "/service/marathon/v2/apps").json() == {"apps": []}  # ... and opens anew
