"""Whether clients will trust a served chain: verified as a TLS client would (cryptography's
X.509 path validation: signatures, validity, name constraints, the server name), up to a root
the user names or the system's trust store. kexpose uses the answer twice: a user-brought
certificate that does not verify fails the preview, and a chain that verifies to the system
store needs no CA in the kubeconfig."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store, VerificationError

from kexpose_components.certs.model import utc


def system_roots() -> list[x509.Certificate]:
    """The trust store OpenSSL uses on this machine (Debian: ca-certificates)."""
    paths = ssl.get_default_verify_paths()
    bundle = Path(paths.cafile or paths.openssl_cafile)
    return x509.load_pem_x509_certificates(bundle.read_bytes()) if bundle.is_file() else []


def chain_problem(cert_pem: str, chain_pem: str, server_name: str, root_pem: str | None = None,
                  now: dt.datetime | None = None) -> str | None:
    """None when the chain verifies for ``server_name`` up to ``root_pem`` (or the system store),
    else why not, in a client's words."""
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    intermediates = x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else []
    roots = x509.load_pem_x509_certificates(root_pem.encode()) if root_pem else system_roots()
    if not roots:
        return "no trust store: name the root with rootFile"
    try:
        name = IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        name = DNSName(server_name)
    verifier = PolicyBuilder().store(Store(roots)).time(utc(now)).build_server_verifier(name)
    try:
        verifier.verify(leaf, [c for c in intermediates if c not in roots])
    except VerificationError as exc:
        where = "the root in rootFile" if root_pem else "the system trust store"
        return f"does not verify for {server_name} up to {where}: {exc}"
    return None
