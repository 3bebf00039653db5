"""Admin Router's TLS: the cluster's own CA and the certificate Admin Router serves.

A real cluster's Admin Router speaks HTTPS with a certificate its own CA signed, and clients fetch
that CA from ``/ca/dcos-ca.crt`` (what ``dcos cluster setup`` stores). The simulator keeps its CA
in the state dir (created at first start, reused after), whether or not it serves HTTPS, and
issues the server certificate for the listening address and the configured names, reissuing it
only when those change.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

from cryptography import x509

from kexpose_sim.dataplane.pki import KeyPair, issue, new_ca

CA_CERT = "dcos-ca.crt"
CA_KEY = "dcos-ca.key"
SERVER_CERT = "adminrouter.crt"
SERVER_KEY = "adminrouter.key"


def cluster_ca(state_dir: Path) -> KeyPair:
    """The cluster CA, created on first use."""
    cert, key = Path(state_dir) / CA_CERT, Path(state_dir) / CA_KEY
    if cert.exists() and key.exists():
        return KeyPair.read(cert, key)
    ca = new_ca("kexpose-sim DC/OS CA")
    ca.write(cert, key)
    return ca


def ca_pem(state_dir: Path) -> str:
    return cluster_ca(state_dir).cert_pem


def _names_of(cert: x509.Certificate) -> set[str]:
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(n.value) for n in sans}


def server_pair(state_dir: Path, names: list[str]) -> tuple[Path, Path]:
    """Certificate and key files for ``names`` (IP addresses and DNS names), signed by the CA."""
    ca = cluster_ca(state_dir)
    cert, key = Path(state_dir) / SERVER_CERT, Path(state_dir) / SERVER_KEY
    wanted = {str(ipaddress.ip_address(n)) if _is_ip(n) else n for n in names}
    if cert.exists() and key.exists():
        current = x509.load_pem_x509_certificate(cert.read_bytes())
        if _names_of(current) == wanted and current.issuer == ca.cert.subject:
            return cert, key
    issue(ca, names[0], names).write(cert, key)
    return cert, key


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def server_context(state_dir: Path, names: list[str]) -> ssl.SSLContext:
    """The TLS context Admin Router serves with (TLS 1.2 or newer)."""
    cert, key = server_pair(state_dir, names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
