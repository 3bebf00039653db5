"""kexpose's policy pack on the real engine: `pulumi preview --policy-pack policy` of kexpose's
resources, through kexpose's language host (RunPlugin, kind analyzer) and the pack's own venv."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support.engine import PROJECT_ROOT

PACK = PROJECT_ROOT / "policy"
PROGRAM = Path(__file__).parent / "policy_project"
PASSWORD = "policy-test-dcos-password"


@dataclass
class Preview:
    code: int
    output: str


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, days: int) -> tuple[str, str]:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes.example.com")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


class PolicyStack:
    """A stack of the policy test program in a scratch copy, driven with the CLI as CI does."""

    def __init__(self, root: Path, engine_env, name: str, violating: bool):
        shutil.copytree(PROGRAM, root, ignore=shutil.ignore_patterns("__pycache__"))
        yaml = root / "Pulumi.yaml"
        yaml.write_text(yaml.read_text().replace("../../../.venv", str(PROJECT_ROOT / ".venv")))
        self.root = root
        self.env = {**os.environ, **engine_env.as_env()}
        self.pulumi("stack", "init", name)
        # kexpose itself refuses RSA keys under 2048 bits; a P-224 key it accepts, the pack does not.
        key = ec.generate_private_key(ec.SECP224R1()) if violating else rsa.generate_private_key(65537, 2048)
        cert_pem, key_pem = _certificate(key, 10 if violating else 200)
        self.pulumi("config", "set", "violating", json.dumps(violating))
        self.pulumi("config", "set", "certPem", "--", cert_pem)
        self.pulumi("config", "set", "--secret", "keyPem", "--", key_pem)
        self.pulumi("config", "set", "--secret", "dcosPassword", PASSWORD)

    def pulumi(self, *args: str) -> subprocess.CompletedProcess:
        out = subprocess.run([str(PROJECT_ROOT / ".venv/bin/pulumi"), "--non-interactive", *args], cwd=self.root,
                             env=self.env, capture_output=True, text=True, timeout=600)
        if args[0] != "preview":
            assert out.returncode == 0, out.stdout + out.stderr
        return out

    def preview(self, *extra: str) -> Preview:
        out = self.pulumi("preview", "--policy-pack", str(PACK), *extra)
        return Preview(out.returncode, out.stdout + out.stderr)


@pytest.fixture(scope="module")
def pack_venv() -> None:
    assert (PACK / ".venv/bin/python").exists(), "the policy pack's venv is missing: run make setup"


def test_violating_stack_fails_with_every_rule_named(tmp_path, engine_env, pack_venv):
    result = PolicyStack(tmp_path / "violating", engine_env, "ci-violating", violating=True).preview()
    assert result.code != 0, result.output
    expected = {
        "kexpose-backend-tls-verification": ["mlb-app: Marathon-LB backend label HAPROXY_0_BACKEND_SERVER_OPTIONS "
                                             "has `verify none`", "elb-pool: the DC/OS connection does not verify TLS",
                                             "quick-config: HAProxy backend backend_kubernetes does not verify"],
        "kexpose-dcos-https": ["mlb-app: the DC/OS connection uses plain http://"],
        "kexpose-stats-not-public": ["elb-pool: Edge-LB pool serves HAProxy stats on 0.0.0.0:9444"],
        "kexpose-certificate-lifetime": ["quick-cert: certificates are issued for 7 days",
                                         "corp-cert: the provided certificate expires on"],
        "kexpose-certificate-key-strength": ["corp-cert: the provided certificate's key is on curve secp224r1"],
        "kexpose-tunnel-timeout": ["mlb-app: Marathon-LB `timeout tunnel 30m`", "quick-config: HAProxy `timeout tunnel 30m`"],
    }
    for policy, messages in expected.items():
        assert policy in result.output, (policy, result.output)
        for message in messages:
            assert message in result.output, (message, result.output)
    assert "mandatory" in result.output and "advisory" in result.output
    assert PASSWORD not in result.output  # the secret connection is inspected, never shown


def test_clean_stack_passes_and_thresholds_are_configurable(tmp_path, engine_env, pack_venv):
    stack = PolicyStack(tmp_path / "clean", engine_env, "ci-clean", violating=False)
    result = stack.preview()
    assert result.code == 0, result.output
    assert "[mandatory]" not in result.output and "[advisory]" not in result.output, result.output
    assert "kexpose@v" in result.output  # the pack did run

    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"kexpose-certificate-lifetime": {"minDays": 400}}))
    result = stack.preview("--policy-pack-config", str(config))
    assert result.code != 0, result.output
    assert "quick-cert: certificates are issued for 365 days; set validity_days to at least 400" in result.output
