"""Certificates for exposed Kubernetes API servers: issue, load, check, bundle, renew.

Two modes, as in the issue:

- **quick**: one self-signed certificate with ``CN=*`` (the subject the old ``openssl req -x509``
  recipe used), so HAProxy can terminate TLS for any hostname. Clients cannot verify it by name;
  it exists so an exposure works in minutes. RSA 2048 / SHA-256 (the recipe's SHA-1 is refused by
  kubectl's Go TLS stack).
- **trusted**: a private CA plus one leaf certificate per set of domains, with the domains as
  subjectAltNames, so ``kubectl`` verifies the API server by name against the CA.

Users can also bring their own certificate (:func:`load_provided`). Whatever the source, the
result passes the same checks (:func:`validate_bundle`) before it becomes an HAProxy PEM bundle
(:attr:`CertificateBundle.bundle_pem`): HAProxy wants one file with the certificate, then its
private key, then the CA chain. Every problem found is a :class:`Problem` naming the input field
and saying how to fix it.

The parts: :mod:`.model` (defaults, results, errors, PEM), :mod:`.domains` (host names),
:mod:`.issue` (keys and issuing), :mod:`.validate` (checking what users bring), :mod:`.renewal`.
Everything here is pure (no files, no openssl subprocess); ``now`` can be passed for tests.
"""

from kexpose_components.certs.domains import covers, normalize_domain, normalize_domains
from kexpose_components.certs.issue import (
    WILDCARD_SUBJECT,
    create_ca,
    generate_key,
    issue_domain_certificate,
    load_ca,
    self_signed_wildcard,
)
from kexpose_components.certs.model import (
    ALLOWED_KEY_SIZES,
    DEFAULT_CA_NAME,
    DEFAULT_CA_VALIDITY_DAYS,
    DEFAULT_KEY_SIZE,
    DEFAULT_RENEW_BEFORE_DAYS,
    DEFAULT_VALIDITY_DAYS,
    CertificateBundle,
    CertificateError,
    CertificateInfo,
    PemBlock,
    Problem,
    RenewalStatus,
    certificate_info,
    fingerprint_sha256,
    pem_blocks,
)
from kexpose_components.certs.renewal import renewal_status
from kexpose_components.certs.validate import load_provided, validate_bundle

__all__ = [
    "ALLOWED_KEY_SIZES", "DEFAULT_CA_NAME", "DEFAULT_CA_VALIDITY_DAYS", "DEFAULT_KEY_SIZE",
    "DEFAULT_RENEW_BEFORE_DAYS", "DEFAULT_VALIDITY_DAYS", "WILDCARD_SUBJECT", "CertificateBundle",
    "CertificateError", "CertificateInfo", "PemBlock", "Problem", "RenewalStatus", "certificate_info",
    "covers", "create_ca", "fingerprint_sha256", "generate_key", "issue_domain_certificate", "load_ca",
    "load_provided", "normalize_domain", "normalize_domains", "pem_blocks", "renewal_status",
    "self_signed_wildcard", "validate_bundle",
]
