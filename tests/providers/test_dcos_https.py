"""kexpose's DC/OS client against the simulator's HTTPS Admin Router, signed by the cluster's own
CA as on a real cluster: the CA fetched from ``/ca/dcos-ca.crt`` verifies, anything else fails
with kexpose's TLS message, and ``verify: false`` is the only way around it."""

from __future__ import annotations

import pytest
import requests

from kexpose_components.dcos.client import DcosApiError, DcosConnection, DcosSession


@pytest.fixture
def https_sim(sim_factory):
    return sim_factory(auth="dcos", users={"ops": "pw"}, dataplane=False, tls=True)


def fetched_ca(sim, tmp_path) -> str:
    """What `dcos cluster setup` does: fetch the CA once (its fingerprint confirmed out of band)."""
    pem = requests.get(f"{sim.url}/ca/dcos-ca.crt", verify=False, timeout=5).text
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    return pem


def apps(connection: DcosConnection) -> dict:
    return DcosSession(connection).request("GET", "/service/marathon/v2/apps").json()


def test_the_clusters_ca_verifies_and_logs_in(https_sim, tmp_path):
    assert https_sim.url.startswith("https://")
    assert apps(DcosConnection(url=https_sim.url, uid="ops", password="pw", ca_bundle=fetched_ca(https_sim, tmp_path))) == {"apps": []}


def test_a_wrong_ca_or_the_system_store_fails_with_the_tls_message(https_sim, sim, tmp_path, monkeypatch):
    other_ca = requests.get(f"{sim.url}/_sim/kubernetes", timeout=5).json()[0]["ca"]  # a real CA, not this cluster's
    for connection in (DcosConnection(url=https_sim.url, uid="ops", password="pw", ca_bundle=other_ca, retries=0),
                       DcosConnection(url=https_sim.url, uid="ops", password="pw", retries=0)):
        with pytest.raises(DcosApiError) as err:
            apps(connection)
        assert "TLS verification failed" in str(err.value) and "verify: false" in str(err.value)
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(fetched_ca(https_sim, tmp_path))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # the environment never swaps the CA kexpose was given
    with pytest.raises(DcosApiError) as err:
        apps(DcosConnection(url=https_sim.url, uid="ops", password="pw", ca_bundle=other_ca, retries=0))
    assert "TLS verification failed" in str(err.value)


def test_verify_false_works_only_when_set(https_sim):
    assert DcosConnection(url=https_sim.url).verify is True  # the default verifies
    assert apps(DcosConnection(url=https_sim.url, uid="ops", password="pw", verify=False)) == {"apps": []}
