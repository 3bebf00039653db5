"""A TLS client's verdict on a certificate, for tests: the oracle the product's own checks are
held against (the product never needs it; HAProxy and kubectl do this themselves)."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store


def verify_for_client(cert_pem: str, chain_pem: str, ca_pem: str, domain: str, *,
                      now: dt.datetime | None = None) -> None:
    """Full RFC 5280 path validation as a TLS client would do it, with ``ca_pem`` as the only root.

    Stricter than ``certs.validate_bundle`` (it also requires the extensions a modern client
    expects). Raises :class:`cryptography.x509.verification.VerificationError` on failure.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    intermediates = x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else []
    roots = x509.load_pem_x509_certificates(ca_pem.encode())
    root_fps = {r.fingerprint(hashes.SHA256()) for r in roots}
    intermediates = [c for c in intermediates if c.fingerprint(hashes.SHA256()) not in root_fps]
    try:
        subject = IPAddress(ipaddress.ip_address(domain))
    except ValueError:
        subject = DNSName(domain)
    verifier = PolicyBuilder().store(Store(roots)).time(now).build_server_verifier(subject)
    verifier.verify(leaf, intermediates)
