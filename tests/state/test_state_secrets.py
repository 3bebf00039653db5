"""The pulumi_state table, decoded, holds no DC/OS credential in plain text."""

from __future__ import annotations

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import DCOS_PASSWORD, DCOS_USER, init_stack, mlb_settings


def service_account(sim, uid: str) -> str:
    """A service account registered with the simulator's Admin Router; returns its private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    requests.put(f"{sim.url}/_sim/auth/service-accounts/{uid}", json={"public_key": public}, timeout=5).raise_for_status()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_no_plaintext_secret_in_the_table(team, checkouts, team_sim):
    private_key = service_account(team_sim, "kexpose-sa")
    token = requests.post(f"{team_sim.url}/acs/api/v1/auth/login", json={"uid": DCOS_USER, "password": DCOS_PASSWORD},
                          timeout=5).json()["token"]
    a = checkouts()
    init_stack(a, "team", mlb_settings(team_sim))  # dcosPassword
    a.pulumi("config", "set", "--secret", "kexpose:dcosToken", token, "--stack", "team")
    a.pulumi("config", "set", "--secret", "--stack", "team", "--", "kexpose:dcosPrivateKey", private_key)
    a.pulumi("up", "--yes", "--stack", "team")
    a.write_config("team", mlb_settings(team_sim, timeouts={"server": "3600s"}))
    a.pulumi("up", "--yes", "--stack", "team")  # a second checkpoint, history and backup rows

    rows = team.rows()
    text = "\n".join(f"{key}\n{blob.decode(errors='replace')}" for key, blob in rows.items())
    pem_lines = private_key.splitlines()  # whole PEM lines: a JSON-escaped key keeps them intact
    secrets = {"password": DCOS_PASSWORD, "token": token, "private key (first line)": pem_lines[1],
               "private key (last line)": pem_lines[-2], "PEM marker": "PRIVATE KEY"}
    # Positive controls: the scan reads the stack's real checkpoint (decoded, not base64) ...
    assert any("/.pulumi/stacks/" in k for k in rows) and any("/.pulumi/history/" in k for k in rows)
    assert '"/kexpose/mlb"' in text and "timeout server 3600s" in text
    # ... and the credentials are in the state, encrypted: the passphrase brings them back.
    shown = a.pulumi("stack", "export", "--show-secrets", "--stack", "team").stdout
    assert [name for name, s in secrets.items() if s not in shown] == []
    leaks = [name for name, s in secrets.items() if s in text]
    assert leaks == [], f"plain text in pulumi_state: {leaks}"
