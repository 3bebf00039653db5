"""kexpose's DC/OS session against the simulator's HTTPS Admin Router, as against a real cluster:
the cluster CA verifies it, the system store or another CA is refused with kexpose's TLS message,
and ``verify: false`` works only when set."""

from __future__ import annotations

import pytest
import requests

from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession
from kexpose_sim.dataplane.pki import new_ca


@pytest.fixture
def https(sim_factory):
    return sim_factory(auth="dcos", tls=True, users={"ops": "pw"}, dataplane=False)


def cluster_ca(url: str) -> str:
    return requests.get(f"{url}/ca/dcos-ca.crt", timeout=5, verify=False).text


def session(url: str, **connection) -> DcosSession:
    return DcosSession(DcosConnection(url=url, uid="ops", password="pw", retries=0, **connection))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_cluster_ca_verifies_admin_router(https):
    apps = session(https.url, ca_bundle=cluster_ca(https.url)).request("GET", "/service/marathon/v2/apps")
    assert apps.json() == {"apps": []}


@pytest.mark.parametrize("ca_bundle", [None, new_ca("not the cluster's").cert_pem], ids=["system-store", "other-ca"])
def test_another_ca_is_refused_with_the_fix_named(https, ca_bundle):
    with pytest.raises(DcosApiError) as err:
        session(https.url, ca_bundle=ca_bundle).request("GET", "/service/marathon/v2/apps")
    assert "TLS verification failed" in str(err.value) and "verify: false" in str(err.value)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_skips_verification_only_when_set(https):
    assert session(https.url, verify=False).request("GET", "/service/marathon/v2/apps").json() == {"apps": []}
