"""Certificates for exposed Kubernetes API servers: issue, load, check, bundle, renew.

Two modes, as in the issue:

- **quick**: one self-signed certificate with ``CN=*`` (the subject the old ``openssl req -x509``
  recipe used), so HAProxy can terminate TLS for any hostname. Clients cannot verify it by name;
  it exists so an exposure works in minutes. RSA 2048 / SHA-256 (the recipe's SHA-1 is refused by
  kubectl's Go TLS stack).
- **trusted**: a private CA plus one leaf certificate per set of domains, with the domains as
  subjectAltNames, so ``kubectl`` verifies the API server by name against the CA.

Users can also bring their own certificate (:func:`load_provided`). Whatever the source, the
result passes the same checks (:func:`validate_bundle`) before it becomes an HAProxy PEM bundle:
HAProxy wants one file with the certificate, then its private key, then the CA chain, and it
fails at reload time, far from the cause, when the key does not match or the chain is broken.
Every problem found is a :class:`Problem` naming the input field and saying how to fix it.

Everything here is pure (no files, no openssl subprocess); ``now`` can be passed for tests.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence, Union

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_KEY_SIZE = 2048
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
DEFAULT_VALIDITY_DAYS = 365
DEFAULT_CA_VALIDITY_DAYS = 3650
DEFAULT_RENEW_BEFORE_DAYS = 30
DEFAULT_CA_NAME = "kexpose CA"

#: The subject of the quick-mode certificate, as the seeds' ``openssl req -subj`` spelled it.
WILDCARD_SUBJECT = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
    x509.NameAttribute(NameOID.LOCALITY_NAME, "SF"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mesosphere"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "dcos-kubernetes"),
    x509.NameAttribute(NameOID.COMMON_NAME, "*"),
])

#: Backdating notBefore absorbs clock skew between the machine running pulumi and the clients.
_BACKDATE = dt.timedelta(minutes=5)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_WEAK_HASHES = ("md5", "sha1")

#: The key types both HAProxy and kubectl's TLS stack accept for a server certificate.
PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]


# -- results and errors -----------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with a certificate input: the field it is in, and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class CertificateError(ValueError):
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

    @property
    def not_after_iso(self) -> str:
        return self.info.not_after.isoformat()


@dataclass(frozen=True)
class RenewalStatus:
    """Whether a certificate is due for renewal, and a sentence saying why (for the preview)."""

    due: bool
    reason: str
    not_after: dt.datetime
    days_left: float


# -- small helpers ----------------------------------------------------------------------------
def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def _day(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def pem_blocks(text: str) -> list[PemBlock]:
    """The PEM blocks of ``text`` in order (used to assemble bundles and to check their order)."""
    return [PemBlock(m.group(1), m.group(0).replace("\r\n", "\n") + "\n") for m in _PEM_BLOCK.finditer(text or "")]


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: PrivateKey) -> str:
    """Unencrypted PKCS#8: HAProxy cannot prompt for a passphrase at reload."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint spelled as ``openssl x509 -fingerprint -sha256`` prints it."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _common_name(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attrs[0].value) if attrs else None


def _is_ca(cert: x509.Certificate) -> bool | None:
    """basicConstraints CA flag; None when the extension is absent (old v1 roots)."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None


def _self_signed(cert: x509.Certificate) -> bool:
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
        is_ca=bool(_is_ca(cert)), self_signed=_self_signed(cert))


# -- domains ----------------------------------------------------------------------------------
def normalize_domain(name: str) -> str:
    """Lower-case, no trailing dot; an IP address or a DNS name (a leading ``*.`` label allowed).

    Raises ValueError with a message that says what is wrong with the name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{name!r} is not a host name; use e.g. devkubernetes01.example.com")
    text = name.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text.isascii():
        raise ValueError(f"{name!r} has non-ASCII characters; write it in punycode (xn--...)")
    if len(text) > 253:
        raise ValueError(f"{name!r} is longer than 253 characters")
    labels = text.split(".")
    if labels[0] == "*":
        if len(labels) < 3:
            raise ValueError(f"{name!r}: a wildcard needs at least two labels after '*.', e.g. *.example.com")
        labels = labels[1:]
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"{name!r}: label {label!r} is not a valid DNS label (letters, digits, '-'; "
                             "at most 63 characters; '*' only as the whole first label)")
    return text


def normalize_domains(domains: Iterable[str]) -> tuple[str, ...]:
    """Normalised, de-duplicated domains in the order given (the first one becomes the CN)."""
    seen: dict[str, None] = {}
    for name in domains:
        seen.setdefault(normalize_domain(name), None)
    return tuple(seen)


def _name_matches(pattern: str, domain: str) -> bool:
    """RFC 6125 matching: exact, or a ``*.`` wildcard standing for exactly one leftmost label.

    ``CN=*`` (the quick-mode certificate) is treated as matching any name: that is what it was
    made for, and clients using it are told to skip verification anyway.
    """
    pattern, domain = pattern.lower().rstrip("."), domain.lower().rstrip(".")
    if pattern == "*" or pattern == domain:
        return True
    if pattern.startswith("*.") and not domain.startswith("*."):
        head, _, rest = domain.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def covers(info: CertificateInfo, domain: str) -> bool:
    """Whether a client connecting to ``domain`` would accept this certificate's names."""
    return any(_name_matches(name, domain) for name in info.names)


# -- issuing ----------------------------------------------------------------------------------
def generate_key(key_size: int = DEFAULT_KEY_SIZE) -> rsa.RSAPrivateKey:
    """A new RSA key; only the sizes in ALLOWED_KEY_SIZES (smaller keys are refused by clients)."""
    if key_size not in ALLOWED_KEY_SIZES:
        raise ValueError(f"key_size {key_size} is not supported; use one of {', '.join(map(str, ALLOWED_KEY_SIZES))}")
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def _check_validity(validity_days: int) -> None:
    if not isinstance(validity_days, int) or validity_days < 1:
        raise ValueError(f"validity_days must be a whole number of days >= 1, not {validity_days!r}")


def _san(domains: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for d in domains:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(d)))
        except ValueError:
            names.append(x509.DNSName(d))
    return x509.SubjectAlternativeName(names)


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime,
             not_after: dt.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _server_extensions(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    return (builder
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=True, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))


def self_signed_wildcard(*, domains: Sequence[str] = (), validity_days: int = DEFAULT_VALIDITY_DAYS,
                         key_size: int = DEFAULT_KEY_SIZE, now: dt.datetime | None = None) -> CertificateBundle:
    """The quick-mode certificate: self-signed, subject ``.../CN=*``, no SANs, no chain.

    ``domains`` are the names it will be served for; they are only recorded (``CN=*`` covers any).
    """
    _check_validity(validity_days)
    now = _now(now)
    key = generate_key(key_size)
    not_after = now + dt.timedelta(days=validity_days)
    builder = _server_extensions(_builder(WILDCARD_SUBJECT, WILDCARD_SUBJECT, key.public_key(), now, not_after))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    cert = builder.add_extension(aki, critical=False).sign(key, hashes.SHA256())
    return validate_bundle(_cert_pem(cert), _key_pem(key), "", domains, now=now)


def create_ca(*, common_name: str = DEFAULT_CA_NAME, validity_days: int = DEFAULT_CA_VALIDITY_DAYS,
              key_size: int = DEFAULT_KEY_SIZE, now: dt.datetime | None = None) -> CertificateBundle:
    """A private root CA for the trusted mode; it may sign leaf certificates only (pathlen 0)."""
    _check_validity(validity_days)
    if not common_name or not isinstance(common_name, str) or len(common_name) > 64:
        raise ValueError("common_name must be 1 to 64 characters, e.g. 'kexpose CA'")
    now = _now(now)
    key = generate_key(key_size)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mesosphere"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "dcos-kubernetes"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (_builder(name, name, key.public_key(), now, now + dt.timedelta(days=validity_days))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, content_commitment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    info = certificate_info(cert)
    pem = _cert_pem(cert)
    return CertificateBundle(cert_pem=pem, key_pem=_key_pem(key), chain_pem="", ca_pem=pem, info=info, chain=(),
                             domains=())


def load_ca(ca_cert_pem: str, ca_key_pem: str, *, require_valid: bool = True,
            now: dt.datetime | None = None) -> tuple[x509.Certificate, PrivateKey]:
    """The signing CA, checked: a CA certificate, still valid, and the key is its key.

    ``require_valid=False`` skips the expiry check, for previews in which the CA itself is
    about to be renewed.
    """
    now = _now(now)
    problems: list[Problem] = []
    found = _load_certs(ca_cert_pem, "ca_cert_pem", problems)
    key = _load_key(ca_key_pem, "ca_key_pem", problems)
    if problems:
        raise CertificateError(problems)
    ca = found[0]
    info = certificate_info(ca)
    if _is_ca(ca) is False:
        problems.append(Problem("ca_cert_pem", f"{info.describe()} is not a CA (basicConstraints CA:FALSE); "
                                               "sign with a CertificateAuthority's certificate"))
    if require_valid and info.not_after <= now:
        problems.append(Problem("ca_cert_pem", f"the CA {info.describe()} expired on {_day(info.not_after)}; "
                                               "renew the CertificateAuthority first"))
    if key is not None and _spki(key.public_key()) != _spki(ca.public_key()):
        problems.append(Problem("ca_key_pem", "is not the private key of ca_cert_pem; pass the key_pem output of "
                                              "the same CertificateAuthority"))
    if problems:
        raise CertificateError(problems)
    return ca, key  # type: ignore[return-value]


def issue_domain_certificate(ca_cert_pem: str, ca_key_pem: str, domains: Sequence[str], *,
                             validity_days: int = DEFAULT_VALIDITY_DAYS, key_size: int = DEFAULT_KEY_SIZE,
                             now: dt.datetime | None = None) -> CertificateBundle:
    """A server certificate for ``domains`` (all of them as SANs, the first also as CN), signed by the CA.

    The certificate never outlives its CA: clients would reject the chain from that day on.
    """
    _check_validity(validity_days)
    now = _now(now)
    try:
        names = normalize_domains(domains)
    except ValueError as exc:
        raise CertificateError([Problem("domains", str(exc))]) from None
    if not names:
        raise CertificateError([Problem("domains", "needs at least one host name, "
                                                   "e.g. ['devkubernetes01.example.com']")])
    ca, ca_key = load_ca(ca_cert_pem, ca_key_pem, now=now)
    key = generate_key(key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])] if len(names[0]) <= 64 else [])
    not_after = min(now + dt.timedelta(days=validity_days), ca.not_valid_after_utc)
    builder = _server_extensions(_builder(subject, ca.subject, key.public_key(), now, not_after))
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())  # type: ignore[arg-type]
    cert = (builder.add_extension(aki, critical=False).add_extension(_san(names), critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return validate_bundle(_cert_pem(cert), _key_pem(key), _cert_pem(ca), names, now=now)


# -- loading and checking -----------------------------------------------------------------------
def _load_certs(text: str, field_name: str, problems: list[Problem], required: bool = True) -> list[x509.Certificate]:
    if not isinstance(text, str) or not text.strip():
        if required:
            problems.append(Problem(field_name, "is empty; paste the certificate in PEM form "
                                                "(-----BEGIN CERTIFICATE----- ...)"))
        return []
    blocks = pem_blocks(text)
    if any("PRIVATE KEY" in b.label for b in blocks):
        problems.append(Problem(field_name, "contains a private key; it takes certificates only "
                                            "(did you swap cert_pem and key_pem?)"))
        return []
    cert_blocks = [b for b in blocks if b.label == "CERTIFICATE"]
    if not cert_blocks:
        found = ", ".join(sorted({b.label for b in blocks})) or "no PEM block"
        problems.append(Problem(field_name, f"has no '-----BEGIN CERTIFICATE-----' block (found {found}); convert "
                                            "it with 'openssl x509 -in cert.der -inform der -out cert.pem'"))
        return []
    loaded = []
    for i, block in enumerate(cert_blocks):
        try:
            loaded.append(x509.load_pem_x509_certificate(block.text.encode()))
        except ValueError as exc:
            problems.append(Problem(field_name, f"certificate #{i + 1} cannot be parsed ({exc}); paste it again "
                                                "unchanged from the issuer"))
    return loaded


def _load_key(text: str, field_name: str, problems: list[Problem]) -> PrivateKey | None:
    """Parse a private key; messages never quote the key."""
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(field_name, "is empty; pass the certificate's private key in PEM form "
                                            "(the key file made with the certificate request)"))
        return None
    blocks = [b for b in pem_blocks(text) if "PRIVATE KEY" in b.label]
    if not blocks:
        problems.append(Problem(field_name, "has no private key block in PEM form; pass the key file that "
                                            "belongs to the certificate"))
        return None
    if len(blocks) > 1:
        problems.append(Problem(field_name, f"has {len(blocks)} private keys; pass only the certificate's key"))
        return None
    if blocks[0].label == "ENCRYPTED PRIVATE KEY" or "ENCRYPTED" in blocks[0].text.split("\n", 3)[1]:
        problems.append(Problem(field_name, "is encrypted with a passphrase, and HAProxy cannot ask for one; "
                                            "decrypt it with 'openssl pkey -in key.pem -out key-plain.pem'"))
        return None
    try:
        key = serialization.load_pem_private_key(blocks[0].text.encode(), password=None)
    except TypeError:
        problems.append(Problem(field_name, "is encrypted with a passphrase, and HAProxy cannot ask for one; "
                                            "decrypt it with 'openssl pkey -in key.pem -out key-plain.pem'"))
        return None
    except Exception:  # noqa: BLE001 - the backend raises several exception types for garbage
        problems.append(Problem(field_name, "cannot be parsed as a private key; pass the key file unchanged"))
        return None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        problems.append(Problem(field_name, f"is a {type(key).__name__.lstrip('_')}; use an RSA or ECDSA key, "
                                            "which both HAProxy and kubectl accept"))
        return None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size < 2048:
        problems.append(Problem(field_name, f"is a {key.key_size}-bit RSA key; clients refuse keys under 2048 bits, "
                                            "issue a new certificate with a 2048-bit or larger key"))
    return key


def _verify_issued(child: x509.Certificate, parent: x509.Certificate) -> str | None:
    """None when ``parent`` issued ``child`` (name and signature), else the reason."""
    if child.issuer != parent.subject:
        return "issuer name does not match"
    try:
        child.verify_directly_issued_by(parent)
        return None
    except ValueError as exc:
        return f"signature cannot be checked: {exc}"
    except InvalidSignature:
        return "signature does not verify"
    except TypeError as exc:
        return f"unsupported key type ({exc})"


def _check_chain(leaf: x509.Certificate, chain: list[x509.Certificate], now: dt.datetime,
                 problems: list[Problem], warnings: list[str]) -> None:
    """Each certificate must be issued by the next one: leaf <- chain[0] <- chain[1] ..."""
    current, current_name = leaf, "cert_pem"
    for i, parent in enumerate(chain):
        pinfo = certificate_info(parent)
        where = f"certificate #{i + 1} ({pinfo.describe()})"
        reason = _verify_issued(current, parent)
        if reason:
            problems.append(Problem("chain_pem", f"{where} did not issue {current_name} "
                                                 f"({reason}; {current_name} is issued by "
                                                 f"{current.issuer.rfc4514_string() or '(empty)'}); order the chain "
                                                 "leaf to root, starting with the certificate that issued cert_pem"))
            return
        if _is_ca(parent) is False:
            problems.append(Problem("chain_pem", f"{where} is not a CA (basicConstraints CA:FALSE); "
                                                 "remove it and add the real issuing CA"))
        if pinfo.not_after <= now:
            problems.append(Problem("chain_pem", f"{where} expired on {_day(pinfo.not_after)}; "
                                                 "download the current chain from your CA"))
        if pinfo.not_before > now + _BACKDATE:
            problems.append(Problem("chain_pem", f"{where} is not valid before {pinfo.not_before.isoformat()}; "
                                                 "check the clock or use the current chain"))
        current, current_name = parent, f"chain certificate #{i + 1}"
    if not chain and not _self_signed(leaf):
        warnings.append(f"chain_pem is empty and cert_pem is issued by {leaf.issuer.rfc4514_string()}: clients that "
                        "do not already trust that issuer will reject it; add the intermediate certificate(s)")


def _check_leaf(leaf: x509.Certificate, info: CertificateInfo, domains: Sequence[str], now: dt.datetime,
                problems: list[Problem]) -> None:
    if info.not_after <= now:
        problems.append(Problem("cert_pem", f"{info.describe()} expired on {_day(info.not_after)}; issue or bring "
                                            "a renewed certificate"))
    if info.not_before > now + _BACKDATE:
        problems.append(Problem("cert_pem", f"{info.describe()} is not valid before {info.not_before.isoformat()}; "
                                            "check this machine's clock or wait"))
    if info.is_ca and not info.self_signed:
        problems.append(Problem("cert_pem", f"{info.describe()} is a CA certificate; pass the server certificate "
                                            "here and put CA certificates in chain_pem"))
    hash_alg = leaf.signature_hash_algorithm
    if hash_alg is not None and hash_alg.name in _WEAK_HASHES:
        problems.append(Problem("cert_pem", f"is signed with {hash_alg.name.upper()}, which kubectl refuses; "
                                            "reissue it with SHA-256"))
    missing = [d for d in domains if not covers(info, d)]
    if missing:
        have = ", ".join(info.names) or "no names"
        problems.append(Problem("domains", f"{', '.join(missing)} not covered by cert_pem (it covers {have}); "
                                           "issue a certificate whose subjectAltName lists every domain"))


def validate_bundle(cert_pem: str, key_pem: str, chain_pem: str = "", domains: Iterable[str] = (), *,
                    now: dt.datetime | None = None) -> CertificateBundle:
    """Check a certificate, its key and its chain strictly, and return them normalised.

    Checks: ``cert_pem`` is exactly one certificate and ``key_pem`` exactly one unencrypted key;
    the key belongs to the certificate; each chain certificate issued the one before it (name and
    signature); nothing is expired or not yet valid; the names cover every requested domain; no
    SHA-1. Raises :class:`CertificateError` listing every problem found.
    """
    now = _now(now)
    problems: list[Problem] = []
    warnings: list[str] = []
    try:
        names = normalize_domains(domains)
    except ValueError as exc:
        problems.append(Problem("domains", str(exc)))
        names = ()
    leaves = _load_certs(cert_pem, "cert_pem", problems)
    if len(leaves) > 1:
        problems.append(Problem("cert_pem", f"has {len(leaves)} certificates; pass only the server certificate here "
                                            "and the others in chain_pem (or use load_provided, which splits them)"))
    chain = _load_certs(chain_pem, "chain_pem", problems, required=False)
    key = _load_key(key_pem, "key_pem", problems)
    if not leaves:
        raise CertificateError(problems)
    leaf = leaves[0]
    info = certificate_info(leaf)
    if key is not None and _spki(key.public_key()) != _spki(leaf.public_key()):
        problems.append(Problem("key_pem", f"does not belong to cert_pem ({info.describe()}): their public keys "
                                           "differ; pass the key that was generated with this certificate's request"))
    _check_leaf(leaf, info, names, now, problems)
    _check_chain(leaf, chain, now, problems, warnings)
    if problems:
        raise CertificateError(problems)
    chain_infos = tuple(certificate_info(c) for c in chain)
    if info.self_signed:
        ca = leaf
    elif chain and chain_infos[-1].self_signed:
        ca = chain[-1]
    else:
        ca = None
    assert key is not None  # a missing key is a problem above
    return CertificateBundle(
        cert_pem=_cert_pem(leaf), key_pem=_key_pem(key), chain_pem="".join(_cert_pem(c) for c in chain),
        ca_pem=_cert_pem(ca) if ca is not None else "", info=info, chain=chain_infos,
        domains=names or ((info.common_name,) if info.common_name == "*" else info.dns_names + info.ip_addresses),
        warnings=tuple(warnings))


def load_provided(cert_pem: str, key_pem: str, chain_pem: str = "", domains: Iterable[str] = (), *,
                  now: dt.datetime | None = None) -> CertificateBundle:
    """A user-brought certificate, accepted in the shapes CAs hand them out, then fully validated.

    A "fullchain" file in ``cert_pem`` (leaf followed by intermediates) is split: the first
    certificate is the server certificate, the rest go in front of ``chain_pem``. Copies of the
    server certificate inside ``chain_pem`` are dropped. Everything else is as strict as
    :func:`validate_bundle`, whose :class:`CertificateError` this raises.
    """
    problems: list[Problem] = []
    given = _load_certs(cert_pem, "cert_pem", problems)
    chain = _load_certs(chain_pem, "chain_pem", problems, required=False)
    if problems:
        _load_key(key_pem, "key_pem", problems)  # report key problems in the same run
        raise CertificateError(problems)
    leaf, extra = given[0], given[1:]
    seen = {leaf.fingerprint(hashes.SHA256())}
    ordered = []
    for cert in extra + chain:
        fp = cert.fingerprint(hashes.SHA256())
        if fp not in seen:
            seen.add(fp)
            ordered.append(cert)
    return validate_bundle(_cert_pem(leaf), key_pem, "".join(_cert_pem(c) for c in ordered), domains, now=now)


def haproxy_bundle(cert_pem: str, key_pem: str, chain_pem: str = "", domains: Iterable[str] = (), *,
                   now: dt.datetime | None = None) -> str:
    """The PEM file for HAProxy's ``bind ... ssl crt``: certificate, key, CA chain — after every check."""
    return validate_bundle(cert_pem, key_pem, chain_pem, domains, now=now).bundle_pem


def verify_for_client(cert_pem: str, chain_pem: str, ca_pem: str, domain: str, *,
                      now: dt.datetime | None = None) -> None:
    """Full RFC 5280 path validation as a TLS client would do it, with ``ca_pem`` as the only root.

    Stricter than :func:`validate_bundle` (it also requires the extensions a modern client
    expects). Raises :class:`cryptography.x509.verification.VerificationError` on failure.
    """
    from cryptography.x509.verification import DNSName, IPAddress, PolicyBuilder, Store

    now = _now(now)
    leaf = x509.load_pem_x509_certificate(cert_pem.encode())
    intermediates = [c for c in (x509.load_pem_x509_certificates(chain_pem.encode()) if chain_pem.strip() else [])]
    roots = x509.load_pem_x509_certificates(ca_pem.encode())
    root_fps = {r.fingerprint(hashes.SHA256()) for r in roots}
    intermediates = [c for c in intermediates if c.fingerprint(hashes.SHA256()) not in root_fps]
    try:
        subject = IPAddress(ipaddress.ip_address(domain))
    except ValueError:
        subject = DNSName(domain)
    verifier = PolicyBuilder().store(Store(roots)).time(now).build_server_verifier(subject)
    verifier.verify(leaf, intermediates)


# -- renewal ----------------------------------------------------------------------------------
def renewal_status(cert: str | dt.datetime, renew_before_days: float = DEFAULT_RENEW_BEFORE_DAYS, *,
                   now: dt.datetime | None = None) -> RenewalStatus:
    """Whether a certificate (PEM, or its notAfter) is inside its renewal window, and why.

    The window is the last ``renew_before_days`` days before notAfter; an expired certificate is
    always due. The reason reads well after "certificate for <domain> ...".
    """
    if renew_before_days < 0:
        raise ValueError(f"renew_before_days must be >= 0, not {renew_before_days}")
    now = _now(now)
    if isinstance(cert, dt.datetime):
        not_after = cert if cert.tzinfo else cert.replace(tzinfo=dt.timezone.utc)
    elif isinstance(cert, str) and "-----BEGIN" not in cert:
        not_after = _now(dt.datetime.fromisoformat(cert))
    else:
        not_after = certificate_info(cert).not_after
    days_left = (not_after - now).total_seconds() / 86400
    window = f"{renew_before_days:g}-day renewal window"
    if days_left <= 0:
        return RenewalStatus(True, f"expired on {_day(not_after)}", not_after, days_left)
    if days_left <= renew_before_days:
        return RenewalStatus(True, f"expires {_day(not_after)} (within the {window})", not_after, days_left)
    return RenewalStatus(False, f"expires {_day(not_after)} (in {days_left:.0f} days; the {window} starts "
                                f"{_day(not_after - dt.timedelta(days=renew_before_days))})", not_after, days_left)
