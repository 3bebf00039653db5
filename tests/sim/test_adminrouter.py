"""Admin Router in front of the simulated services: login, token checks, routing."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture
def dcos(sim_factory):
    return sim_factory(auth="dcos", users={"alice": "secret", "bob": "pw"}, forbidden_uids={"bob"})


def login(url: str, **body) -> requests.Response:
    return requests.post(f"{url}/acs/api/v1/auth/login", json=body, timeout=5)


def test_password_login_returns_token_and_cookies(dcos):
    r = login(dcos.url, uid="alice", password="secret")
    assert r.status_code == 200
    token = r.json()["token"]
    assert r.cookies["dcos-acs-auth-cookie"] == token
    info = json.loads(base64.b64decode(r.cookies["dcos-acs-info-cookie"]))
    assert info["uid"] == "alice" and info["is_remote"] is False
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["uid"] == "alice" and claims["exp"] > time.time() + 4 * 24 * 3600  # 5-day default


def test_bad_credentials_are_401_json_with_acsjwt(dcos):
    r = login(dcos.url, uid="alice", password="wrong")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "acsjwt"
    assert r.json()["code"] == "ERR_INVALID_CREDENTIALS"


@pytest.mark.parametrize("body,status", [(b"not json", 400), (b"{}", 400), (b'{"uid": "alice"}', 400)])
def test_malformed_login_is_400(dcos, body, status):
    r = requests.post(f"{dcos.url}/acs/api/v1/auth/login", data=body, timeout=5)
    assert r.status_code == status
    assert "code" in r.json()


def test_service_account_login_with_rs256_jwt(dcos):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    requests.put(f"{dcos.url}/_sim/auth/service-accounts/kexpose", json={"public_key": public_pem}, timeout=5).raise_for_status()
    login_token = jwt.encode({"uid": "kexpose", "exp": int(time.time()) + 60}, key, algorithm="RS256")
    r = login(dcos.url, uid="kexpose", token=login_token)
    assert r.status_code == 200
    token = r.json()["token"]
    assert requests.get(f"{dcos.marathon}/v2/apps", headers={"Authorization": f"token={token}"}, timeout=5).status_code == 200
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode({"uid": "kexpose", "exp": int(time.time()) + 60}, other, algorithm="RS256")
    assert login(dcos.url, uid="kexpose", token=forged).status_code == 401


def test_every_service_path_needs_a_token(dcos):
    for path in ("/service/marathon/v2/apps", "/marathon/v2/apps", "/service/edgelb/v2/pools", "/v2/apps"):
        r = requests.get(dcos.url + path, timeout=5)
        assert r.status_code == 401, path
        assert r.headers["WWW-Authenticate"] == "acsjwt"
        assert r.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("how", ["token", "bearer", "cookie"])
def test_token_is_accepted_as_header_bearer_or_cookie(dcos, how):
    token = login(dcos.url, uid="alice", password="secret").json()["token"]
    kwargs = {
        "token": {"headers": {"Authorization": f"token={token}"}},
        "bearer": {"headers": {"Authorization": f"Bearer {token}"}},
        "cookie": {"cookies": {"dcos-acs-auth-cookie": token}},
    }[how]
    assert requests.get(f"{dcos.marathon}/v2/apps", timeout=5, **kwargs).json() == {"apps": []}


def test_expired_or_forged_token_is_401(dcos):
    r = login(dcos.url, uid="alice", password="secret", exp=int(time.time()) + 1)
    token = r.json()["token"]
    assert requests.get(f"{dcos.marathon}/v2/apps", headers={"Authorization": f"token={token}"}, timeout=5).status_code == 200
    time.sleep(2.1)
    assert requests.get(f"{dcos.marathon}/v2/apps", headers={"Authorization": f"token={token}"}, timeout=5).status_code == 401
    assert requests.get(f"{dcos.marathon}/v2/apps", headers={"Authorization": "token=abc.def.ghi"}, timeout=5).status_code == 401


def test_uid_without_permission_is_403(dcos):
    token = login(dcos.url, uid="bob", password="pw").json()["token"]
    r = requests.get(f"{dcos.marathon}/v2/apps", headers={"Authorization": f"token={token}"}, timeout=5)
    assert r.status_code == 403
    assert "403 Forbidden" in r.text


def test_routing(sim):
    assert requests.get(f"{sim.url}/service/marathon", allow_redirects=False, timeout=5).status_code == 301
    r = requests.get(f"{sim.url}/service/nothing-here/v2/apps", timeout=5)
    assert (r.status_code, r.text) == (404, "404 Not Found: service not found.")
    assert requests.get(f"{sim.url}/marathon/v2/apps", timeout=5).json() == {"apps": []}
    assert requests.get(f"{sim.url}/ping", timeout=5).text == "pong"


def test_edgelb_service_name_is_configurable(sim_factory):
    custom = sim_factory(auth="none", edgelb_service="edgelb-emea")
    assert requests.get(f"{custom.url}/service/edgelb-emea/ping", timeout=5).status_code == 200
    assert requests.get(f"{custom.url}/service/edgelb/ping", timeout=5).status_code == 404
