"""Issuing certificates: the quick-mode wildcard, a private CA, and server certificates it signs.

Every certificate issued here goes through the same checks as a user-brought one
(:func:`~kexpose_components.certs.validate.validate_bundle`) before it is returned.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kexpose_components.certs.domains import normalize_domains
from kexpose_components.certs.model import (
    ALLOWED_KEY_SIZES, BACKDATE, DEFAULT_CA_NAME, DEFAULT_CA_VALIDITY_DAYS, DEFAULT_KEY_SIZE,
    DEFAULT_VALIDITY_DAYS, CertificateBundle, CertificateError, PrivateKey, Problem, certificate_info, day,
    encode_cert, encode_key, is_ca, spki, utc)
from kexpose_components.certs.validate import load_certs, load_key, validate_bundle

#: The subject of the quick-mode certificate, as the seeds' ``openssl req -subj`` spelled it.
WILDCARD_SUBJECT = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
    x509.NameAttribute(NameOID.LOCALITY_NAME, "SF"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mesosphere"),
    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "dcos-kubernetes"),
    x509.NameAttribute(NameOID.COMMON_NAME, "*"),
])


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
            .not_valid_before(now - BACKDATE)
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
    """The quick-mode certificate: self-signed, subject ``.../CN=*`` (as the seeds make it), no chain.

    ``domains`` become its subjectAltNames, so a client that pins this certificate as its CA can
    also verify the name (e.g. ``*.kexpose.internal`` with ``tls-server-name`` under it): ``CN=*``
    alone is ignored by every current client.
    """
    _check_validity(validity_days)
    now = utc(now)
    key = generate_key(key_size)
    not_after = now + dt.timedelta(days=validity_days)
    builder = _server_extensions(_builder(WILDCARD_SUBJECT, WILDCARD_SUBJECT, key.public_key(), now, not_after))
    if domains:
        builder = builder.add_extension(_san(domains), critical=False)
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    cert = builder.add_extension(aki, critical=False).sign(key, hashes.SHA256())
    return validate_bundle(encode_cert(cert), encode_key(key), "", domains, now=now)


def create_ca(*, common_name: str = DEFAULT_CA_NAME, validity_days: int = DEFAULT_CA_VALIDITY_DAYS,
              key_size: int = DEFAULT_KEY_SIZE, now: dt.datetime | None = None) -> CertificateBundle:
    """A private root CA for the trusted mode; it may sign leaf certificates only (pathlen 0)."""
    _check_validity(validity_days)
    if not common_name or not isinstance(common_name, str) or len(common_name) > 64:
        raise ValueError("common_name must be 1 to 64 characters, e.g. 'kexpose CA'")
    now = utc(now)
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
    pem = encode_cert(cert)
    return CertificateBundle(cert_pem=pem, key_pem=encode_key(key), chain_pem="", ca_pem=pem, info=info, chain=(),
                             domains=())


def load_ca(ca_cert_pem: str, ca_key_pem: str, *, require_valid: bool = True,
            now: dt.datetime | None = None) -> tuple[x509.Certificate, PrivateKey]:
    """The signing CA, checked: a CA certificate, still valid, and the key is its key.

    ``require_valid=False`` skips the expiry check, for previews in which the CA itself is
    about to be renewed.
    """
    now = utc(now)
    problems: list[Problem] = []
    found = load_certs(ca_cert_pem, "ca_cert_pem", problems)
    key = load_key(ca_key_pem, "ca_key_pem", problems)
    if problems:
        raise CertificateError(problems)
    ca = found[0]
    info = certificate_info(ca)
    if is_ca(ca) is False:
        problems.append(Problem("ca_cert_pem", f"{info.describe()} is not a CA (basicConstraints CA:FALSE); "
                                               "sign with a CertificateAuthority's certificate"))
    if require_valid and info.not_after <= now:
        problems.append(Problem("ca_cert_pem", f"the CA {info.describe()} expired on {day(info.not_after)}; "
                                               "renew the CertificateAuthority first"))
    if key is not None and spki(key.public_key()) != spki(ca.public_key()):
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
    now = utc(now)
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
    return validate_bundle(encode_cert(cert), encode_key(key), encode_cert(ca), names, now=now)
