"""Checking certificate inputs strictly, above all user-brought ones: each problem names the field
(``cert_pem``, ``key_pem``, ``chain_pem``, ``domains``) and says how to fix it, because HAProxy
fails at reload time, far from the cause, when the key does not match or the chain is broken."""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kexpose_components.certs.domains import covers, normalize_domains
from kexpose_components.certs.model import (
    BACKDATE, CertificateBundle, CertificateError, CertificateInfo, PrivateKey, Problem, certificate_info,
    day, encode_cert, encode_key, is_ca, pem_blocks, self_signed, spki, utc)

_WEAK_HASHES = ("md5", "sha1")


def load_certs(text: str, field_name: str, problems: list[Problem], required: bool = True) -> list[x509.Certificate]:
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


def load_key(text: str, field_name: str, problems: list[Problem]) -> PrivateKey | None:
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
    encrypted = Problem(field_name, "is encrypted with a passphrase, and HAProxy cannot ask for one; "
                                    "decrypt it with 'openssl pkey -in key.pem -out key-plain.pem'")
    if blocks[0].label == "ENCRYPTED PRIVATE KEY" or "ENCRYPTED" in blocks[0].text.split("\n", 3)[1]:
        problems.append(encrypted)
        return None
    try:
        key = serialization.load_pem_private_key(blocks[0].text.encode(), password=None)
    except TypeError:  # encrypted in a way the PEM header does not show
        problems.append(encrypted)
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


def _validity(info: CertificateInfo, now: dt.datetime, field_name: str, what: str, *, expired: str,
              early: str) -> list[Problem]:
    """Problems with a certificate's validity period at ``now``; ``expired``/``early`` say what to do."""
    problems = []
    if info.not_after <= now:
        problems.append(Problem(field_name, f"{what} expired on {day(info.not_after)}; {expired}"))
    if info.not_before > now + BACKDATE:
        problems.append(Problem(field_name, f"{what} is not valid before {info.not_before.isoformat()}; {early}"))
    return problems


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
        if is_ca(parent) is False:
            problems.append(Problem("chain_pem", f"{where} is not a CA (basicConstraints CA:FALSE); "
                                                 "remove it and add the real issuing CA"))
        problems += _validity(pinfo, now, "chain_pem", where, expired="download the current chain from your CA",
                              early="check the clock or use the current chain")
        current, current_name = parent, f"chain certificate #{i + 1}"
    if not chain and not self_signed(leaf):
        warnings.append(f"chain_pem is empty and cert_pem is issued by {leaf.issuer.rfc4514_string()}: clients that "
                        "do not already trust that issuer will reject it; add the intermediate certificate(s)")


def _check_leaf(leaf: x509.Certificate, info: CertificateInfo, domains: Sequence[str], now: dt.datetime,
                problems: list[Problem]) -> None:
    problems += _validity(info, now, "cert_pem", info.describe(), expired="issue or bring a renewed certificate",
                          early="check this machine's clock or wait")
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
    now = utc(now)
    problems: list[Problem] = []
    warnings: list[str] = []
    try:
        names = normalize_domains(domains)
    except ValueError as exc:
        problems.append(Problem("domains", str(exc)))
        names = ()
    leaves = load_certs(cert_pem, "cert_pem", problems)
    if len(leaves) > 1:
        problems.append(Problem("cert_pem", f"has {len(leaves)} certificates; pass only the server certificate here "
                                            "and the others in chain_pem (or use load_provided, which splits them)"))
    chain = load_certs(chain_pem, "chain_pem", problems, required=False)
    key = load_key(key_pem, "key_pem", problems)
    if not leaves:
        raise CertificateError(problems)
    leaf = leaves[0]
    info = certificate_info(leaf)
    if key is not None and spki(key.public_key()) != spki(leaf.public_key()):
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
        cert_pem=encode_cert(leaf), key_pem=encode_key(key), chain_pem="".join(encode_cert(c) for c in chain),
        ca_pem=encode_cert(ca) if ca is not None else "", info=info, chain=chain_infos,
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
    given = load_certs(cert_pem, "cert_pem", problems)
    chain = load_certs(chain_pem, "chain_pem", problems, required=False)
    if problems:
        load_key(key_pem, "key_pem", problems)  # report key problems in the same run
        raise CertificateError(problems)
    leaf, extra = given[0], given[1:]
    seen = {leaf.fingerprint(hashes.SHA256())}
    ordered = []
    for cert in extra + chain:
        fp = cert.fingerprint(hashes.SHA256())
        if fp not in seen:
            seen.add(fp)
            ordered.append(cert)
    return validate_bundle(encode_cert(leaf), key_pem, "".join(encode_cert(c) for c in ordered), domains, now=now)
