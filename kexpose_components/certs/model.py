"""The shared vocabulary of :mod:`kexpose_components.certs`: defaults, the results and errors
every part returns, PEM encoding, and a certificate's summary (:class:`CertificateInfo`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Sequence, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from kexpose_components.errors import KexposeError

DEFAULT_KEY_SIZE = 2048
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
DEFAULT_VALIDITY_DAYS = 365
DEFAULT_CA_VALIDITY_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
DEFAULT_CA_NAME = "kexpose CA"

#: Backdating notBefore absorbs clock skew between the machine running pulumi and the clients.
BACKDATE = dt.timedelta(minutes=5)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)

#: The key types both HAProxy and kubectl's TLS stack accept for a server certificate.
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a certificate input: the field it is in, and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class CertificateError(KexposeError, ValueError):
    """Certificate inputs failed the checks; ``problems`` names each field and the fix."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class PemBlock:
    """One ``-----BEGIN <label>-----`` block of a PEM text, in the order it appeared."""

    label: str
    text: str


@dataclass(frozen=True)
class CertificateInfo:
    """What callers and users need to know about a certificate, without parsing it again."""

    subject: str
    issuer: str
    common_name: str | None
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    fingerprint_sha256: str
    serial_number: int
    is_ca: bool
    self_signed: bool

    @property
    def names(self) -> tuple[str, ...]:
        """The names a client matches against: the SANs, or the CN when there are none (RFC 6125)."""
        if self.dns_names or self.ip_addresses:
            return self.dns_names + self.ip_addresses
        return (self.common_name,) if self.common_name else ()

    def describe(self) -> str:
        """A short human name for messages, e.g. ``CN=example.com``."""
        return f"CN={self.common_name}" if self.common_name else self.subject or "(empty subject)"


@dataclass(frozen=True)
class CertificateBundle:
    """A checked certificate with its key and chain, ready for HAProxy and for clients.

    ``chain_pem`` holds the issuing certificates in leaf-to-root order (empty for a self-signed
    certificate). ``ca_pem`` is what a client should trust (``certificate-authority-data`` in a
    kubeconfig): the root the chain ends in, the certificate itself when self-signed, or empty
    when the chain stops below a public root that clients already trust.
    """

    cert_pem: str
    key_pem: str
    chain_pem: str
    ca_pem: str
    info: CertificateInfo
    chain: tuple[CertificateInfo, ...]
    domains: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def bundle_pem(self) -> str:
        """HAProxy's ``crt`` file: certificate, then private key, then the CA chain."""
        return self.cert_pem + self.key_pem + self.chain_pem


@dataclass(frozen=True)
class RenewalStatus:
    """Whether a certificate is due for renewal, and a sentence saying why (for the preview)."""

    due: bool
    reason: str
    not_after: dt.datetime
    days_left: float


def utc(now: dt.datetime | None) -> dt.datetime:
    """``now`` made timezone-aware (naive means UTC), or the current time when None."""
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def day(moment: dt.datetime) -> str:
    """How messages name a date: 2026-12-02."""
    return moment.strftime("%Y-%m-%d")


def pem_blocks(text: str) -> list[PemBlock]:
    """The PEM blocks of ``text`` in order (used to assemble bundles and to check their order)."""
    return [PemBlock(m.group(1), m.group(0).replace("\r\n", "\n") + "\n") for m in _PEM_BLOCK.finditer(text or "")]


def encode_cert(cert: x509.Certificate) -> str:
    """PEM text of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def encode_key(key: PrivateKey) -> str:
    """Unencrypted PKCS#8: HAProxy cannot prompt for a passphrase at reload."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def spki(public_key) -> bytes:
    """The DER SubjectPublicKeyInfo: equal for a key and the certificate made for it."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint spelled as ``openssl x509 -fingerprint -sha256`` prints it."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _common_name(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def is_ca(cert: x509.Certificate) -> bool | None:
    """basicConstraints CA flag; None when the extension is absent (old v1 roots)."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None


def self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: same name, and its own key verifies its signature."""
    if cert.subject != cert.issuer:
        return False
    try:
        cert.verify_directly_issued_by(cert)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def certificate_info(cert: x509.Certificate | str) -> CertificateInfo:
    """Summarise a certificate (object or PEM text of exactly one certificate)."""
    if isinstance(cert, str):
        cert = x509.load_pem_x509_certificate(cert.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        common_name=_common_name(cert.subject), dns_names=dns, ip_addresses=ips,
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        fingerprint_sha256=fingerprint_sha256(cert), serial_number=cert.serial_number,
        is_ca=bool(is_ca(cert)), self_signed=self_signed(cert))
