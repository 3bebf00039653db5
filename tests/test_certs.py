"""certs.py with real cryptography: issued shapes, chains that verify, bundles, and the checks."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import VerificationError

from kexpose_components import certs
from tests.support.tls import verify_for_client

DOMAIN = "devkubernetes01.example.com"
NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def ca() -> certs.CertificateBundle:
    return certs.create_ca(common_name="kexpose test CA")


@pytest.fixture(scope="module")
def leaf(ca) -> certs.CertificateBundle:
    return certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [DOMAIN, "k8s.example.com", "10.0.0.5"])


@pytest.fixture(scope="module")
def wildcard() -> certs.CertificateBundle:
    return certs.self_signed_wildcard()


def problems_of(exc_info) -> dict[str, str]:
    return {p.field: p.message for p in exc_info.value.problems}


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


# -- shapes -------------------------------------------------------------------------------------
def test_wildcard_matches_the_seed_subject_but_rsa2048_sha256(wildcard):
    cert = load(wildcard.cert_pem)
    attrs = [(a.oid, a.value) for a in cert.subject]
    assert attrs == [(NameOID.COUNTRY_NAME, "US"), (NameOID.STATE_OR_PROVINCE_NAME, "CA"),
                     (NameOID.LOCALITY_NAME, "SF"), (NameOID.ORGANIZATION_NAME, "Mesosphere"),
                     (NameOID.ORGANIZATIONAL_UNIT_NAME, "dcos-kubernetes"), (NameOID.COMMON_NAME, "*")]
    assert cert.issuer == cert.subject and wildcard.info.self_signed
    assert isinstance(cert.public_key(), rsa.RSAPublicKey) and cert.public_key().key_size == 2048
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert wildcard.info.dns_names == () and wildcard.chain_pem == "" and wildcard.ca_pem == wildcard.cert_pem
    assert wildcard.domains == ("*",)
    assert 364 <= (wildcard.info.not_after - NOW).days <= 365
    for name in (DOMAIN, "anything.else.example.org", "10.1.2.3"):
        assert certs.covers(wildcard.info, name)
    cert.verify_directly_issued_by(cert)  # the self-signature holds


def test_ca_is_a_root_that_may_sign_leaves_only(ca):
    cert = load(ca.cert_pem)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.info.is_ca and ca.info.self_signed and ca.info.common_name == "kexpose test CA"
    assert 3649 <= (ca.info.not_after - NOW).days <= 3650


def test_leaf_has_the_domains_as_sans_and_the_ca_as_chain(ca, leaf):
    assert leaf.info.dns_names == (DOMAIN, "k8s.example.com")
    assert leaf.info.ip_addresses == ("10.0.0.5",)
    assert leaf.info.common_name == DOMAIN and not leaf.info.is_ca
    assert leaf.chain_pem == ca.cert_pem and leaf.ca_pem == ca.cert_pem
    assert leaf.domains == (DOMAIN, "k8s.example.com", "10.0.0.5")
    eku = load(leaf.cert_pem).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert certs.covers(leaf.info, "K8S.example.com.") and not certs.covers(leaf.info, "other.example.com")


def test_leaf_never_outlives_its_ca():
    short_ca = certs.create_ca(validity_days=20)
    leaf = certs.issue_domain_certificate(short_ca.cert_pem, short_ca.key_pem, [DOMAIN], validity_days=365)
    assert leaf.info.not_after == short_ca.info.not_after


# -- chains verify like a client verifies them ----------------------------------------------------
def test_chain_verifies_with_cryptography_path_validation(ca, leaf):
    for name in (DOMAIN, "k8s.example.com", "10.0.0.5"):
        verify_for_client(leaf.cert_pem, leaf.chain_pem, ca.cert_pem, name)
    with pytest.raises(VerificationError):
        verify_for_client(leaf.cert_pem, leaf.chain_pem, ca.cert_pem, "other.example.com")
    with pytest.raises(VerificationError):
        verify_for_client(leaf.cert_pem, "", certs.create_ca().cert_pem, DOMAIN)


def _handshake(bundle_path, ca_path, server_hostname: str) -> None:
    """A TLS handshake in memory: the server loads the bundle as HAProxy does (one file)."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(bundle_path))
    client_ctx = ssl.create_default_context(cafile=str(ca_path))
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client), ("server", server)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        if c_out.pending:
            s_in.write(c_out.read())
        if s_out.pending:
            c_in.write(s_out.read())
        if all(done.values()):
            return
    raise AssertionError("handshake did not finish")


def test_bundle_serves_tls_that_ssl_verifies(tmp_path, ca, leaf):
    bundle = tmp_path / "api.pem"
    bundle.write_text(certs.validate_bundle(leaf.cert_pem, leaf.key_pem, leaf.chain_pem, [DOMAIN]).bundle_pem)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ca.cert_pem)
    _handshake(bundle, ca_file, DOMAIN)
    with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
        _handshake(bundle, ca_file, "other.example.com")
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(certs.create_ca().cert_pem)
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        _handshake(bundle, stranger, DOMAIN)


# -- the HAProxy bundle ---------------------------------------------------------------------------
def test_bundle_order_is_certificate_then_key_then_chain(ca, leaf):
    bundle = certs.validate_bundle(leaf.cert_pem, leaf.key_pem, leaf.chain_pem, [DOMAIN]).bundle_pem
    blocks = certs.pem_blocks(bundle)
    assert [b.label for b in blocks] == ["CERTIFICATE", "PRIVATE KEY", "CERTIFICATE"]
    assert blocks[0].text == leaf.cert_pem
    assert blocks[1].text == leaf.key_pem
    assert blocks[2].text == ca.cert_pem
    assert bundle == leaf.bundle_pem and bundle.endswith("-----END CERTIFICATE-----\n")
    key = serialization.load_pem_private_key(blocks[1].text.encode(), None)
    assert key.public_key().public_numbers() == load(blocks[0].text).public_key().public_numbers()


def test_bundle_keeps_a_multi_level_chain_leaf_to_root():
    root = certs.create_ca(common_name="root")
    # an intermediate: a CA certificate signed by the root (built here; certs issues leaves only)
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_cert = load(root.cert_pem)
    root_key = serialization.load_pem_private_key(root.key_pem.encode(), None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intermediate")])
    inter = (x509.CertificateBuilder().subject_name(name).issuer_name(root_cert.subject)
             .public_key(inter_key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=100))
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
             .sign(root_key, hashes.SHA256()))
    inter_pem = inter.public_bytes(serialization.Encoding.PEM).decode()
    inter_key_pem = inter_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()
    leaf = certs.issue_domain_certificate(inter_pem, inter_key_pem, [DOMAIN])
    good = certs.validate_bundle(leaf.cert_pem, leaf.key_pem, inter_pem + root.cert_pem, [DOMAIN])
    assert [b.label for b in certs.pem_blocks(good.bundle_pem)] == ["CERTIFICATE", "PRIVATE KEY", "CERTIFICATE",
                                                                    "CERTIFICATE"]
    assert good.ca_pem == root.cert_pem and [c.common_name for c in good.chain] == ["intermediate", "root"]
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(leaf.cert_pem, leaf.key_pem, root.cert_pem + inter_pem, [DOMAIN])
    assert "order the chain leaf to root" in problems_of(err)["chain_pem"]


# -- what the checks catch ------------------------------------------------------------------------
def test_key_mismatch_is_detected(leaf, wildcard):
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(leaf.cert_pem, wildcard.key_pem, leaf.chain_pem, [DOMAIN]).bundle_pem
    message = problems_of(err)["key_pem"]
    assert "does not belong to cert_pem" in message and "PRIVATE KEY" not in str(err.value)


def test_san_mismatch_is_detected(leaf):
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(leaf.cert_pem, leaf.key_pem, leaf.chain_pem, [DOMAIN, "api.other.org"])
    message = problems_of(err)["domains"]
    assert message.startswith("api.other.org not covered by cert_pem")
    assert DOMAIN in message and "subjectAltName" in message


def test_wildcard_san_covers_exactly_one_label(ca):
    star = certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, ["*.example.com"])
    assert certs.covers(star.info, "api.example.com")
    assert not certs.covers(star.info, "a.b.example.com") and not certs.covers(star.info, "example.com")
    verify_for_client(star.cert_pem, star.chain_pem, ca.cert_pem, "api.example.com")


def test_chain_from_another_ca_is_detected(leaf):
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(leaf.cert_pem, leaf.key_pem, certs.create_ca(common_name="kexpose test CA").cert_pem)
    assert "signature does not verify" in problems_of(err)["chain_pem"]  # same name, different key


def test_expired_certificate_is_detected_and_due():
    then = NOW - dt.timedelta(days=40)
    old_ca = certs.create_ca(now=then)
    old = certs.issue_domain_certificate(old_ca.cert_pem, old_ca.key_pem, [DOMAIN], validity_days=10, now=then)
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(old.cert_pem, old.key_pem, old.chain_pem, [DOMAIN])
    assert "expired on" in problems_of(err)["cert_pem"]
    status = certs.renewal_status(old.cert_pem)
    assert status.due and status.reason.startswith("expired on") and status.days_left < 0


def test_not_yet_valid_certificate_is_detected(ca):
    future = certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [DOMAIN], now=NOW + dt.timedelta(days=2))
    with pytest.raises(certs.CertificateError) as err:
        certs.validate_bundle(future.cert_pem, future.key_pem, future.chain_pem)
    assert "is not valid before" in problems_of(err)["cert_pem"]


def test_renewal_window(ca):
    short = certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [DOMAIN], validity_days=10)
    due = certs.renewal_status(short.cert_pem, 30)
    assert due.due and "(within the 30-day renewal window)" in due.reason and 9 < due.days_left <= 10
    assert due.reason.startswith(f"expires {short.info.not_after:%Y-%m-%d}")
    later = certs.renewal_status(short.cert_pem, 5)
    assert not later.due and "in 10 days" in later.reason
    assert certs.renewal_status(short.info.not_after.isoformat(), 30).due  # ISO text as stored in state
    assert certs.renewal_status(short.info.not_after, 30).due
    year = certs.renewal_status(certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [DOMAIN]).cert_pem)
    assert not year.due and "the 30-day renewal window starts" in year.reason  # default window is 30 days
    edge = certs.renewal_status(short.info.not_after, 30, now=short.info.not_after - dt.timedelta(days=30))
    assert edge.due
    with pytest.raises(ValueError):
        certs.renewal_status(short.cert_pem, -1)


def _sha1_self_signed(key: rsa.RSAPrivateKey) -> str:
    """A SHA-1 certificate like the old ``openssl req -x509 -sha1`` recipe made.

    cryptography no longer signs certificates with SHA-1, so sign with SHA-256 and swap the
    algorithm: the two OIDs have the same length, so the DER only needs the new signature.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "*")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    sha256_rsa, sha1_rsa = bytes.fromhex("2a864886f70d01010b"), bytes.fromhex("2a864886f70d010105")
    tbs = cert.tbs_certificate_bytes.replace(sha256_rsa, sha1_rsa)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    der = (cert.public_bytes(serialization.Encoding.DER).replace(cert.tbs_certificate_bytes, tbs)
           .replace(sha256_rsa, sha1_rsa).replace(cert.signature, signature))
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM).decode()


def test_sha1_and_small_keys_are_refused():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = _sha1_self_signed(key)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    with pytest.raises(certs.CertificateError) as err:
        certs.load_provided(pem, key_pem)
    problems = problems_of(err)
    assert "SHA1" in problems["cert_pem"] and "SHA-256" in problems["cert_pem"]
    assert "1024-bit" in problems["key_pem"]


# -- user-brought certificates ---------------------------------------------------------------------
def test_load_provided_accepts_fullchain_and_drops_duplicates(ca, leaf):
    fullchain = leaf.cert_pem + ca.cert_pem
    bundle = certs.load_provided(fullchain.replace("\n", "\r\n"), leaf.key_pem, leaf.cert_pem + ca.cert_pem,
                                 [DOMAIN])
    assert bundle.cert_pem == leaf.cert_pem and bundle.chain_pem == ca.cert_pem
    assert bundle.bundle_pem == leaf.bundle_pem
    assert certs.load_provided(leaf.cert_pem, leaf.key_pem, ca.cert_pem).domains == leaf.domains


def test_load_provided_names_each_bad_field(leaf, wildcard):
    with pytest.raises(certs.CertificateError) as err:
        certs.load_provided(leaf.key_pem, leaf.cert_pem)
    problems = problems_of(err)
    assert "swap cert_pem and key_pem" in problems["cert_pem"]
    assert "has no private key block" in problems["key_pem"]

    with pytest.raises(certs.CertificateError) as err:
        certs.load_provided("not a certificate", "")
    problems = problems_of(err)
    assert "no '-----BEGIN CERTIFICATE-----' block" in problems["cert_pem"]
    assert "is empty" in problems["key_pem"]

    encrypted = serialization.load_pem_private_key(leaf.key_pem.encode(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase")).decode()
    with pytest.raises(certs.CertificateError) as err:
        certs.load_provided(leaf.cert_pem, encrypted, leaf.chain_pem)
    assert "passphrase" in problems_of(err)["key_pem"] and "openssl pkey" in problems_of(err)["key_pem"]

    with pytest.raises(certs.CertificateError) as err:
        certs.load_provided(leaf.cert_pem, leaf.key_pem, wildcard.cert_pem, ["bad_name.example.com"])
    problems = problems_of(err)
    assert "did not issue cert_pem" in problems["chain_pem"]
    assert "bad_name" in problems["domains"]


def test_missing_chain_is_a_warning_not_an_error(leaf):
    bundle = certs.validate_bundle(leaf.cert_pem, leaf.key_pem, "", [DOMAIN])
    assert bundle.ca_pem == "" and "add the intermediate" in bundle.warnings[0]


def test_bad_ca_inputs_name_the_field(leaf, wildcard, ca):
    with pytest.raises(certs.CertificateError) as err:
        certs.issue_domain_certificate(leaf.cert_pem, leaf.key_pem, [DOMAIN])
    assert "is not a CA" in problems_of(err)["ca_cert_pem"]
    with pytest.raises(certs.CertificateError) as err:
        certs.issue_domain_certificate(ca.cert_pem, wildcard.key_pem, [DOMAIN])
    assert "is not the private key of ca_cert_pem" in problems_of(err)["ca_key_pem"]
    with pytest.raises(certs.CertificateError) as err:
        certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [])
    assert "at least one host name" in problems_of(err)["domains"]


@pytest.mark.parametrize("name, expected", [
    ("API.Example.COM.", "api.example.com"), ("*.example.com", "*.example.com"), ("10.0.0.5", "10.0.0.5"),
    ("::1", "::1"), ("localhost", "localhost"),
])
def test_domains_are_normalised(name, expected):
    assert certs.normalize_domain(name) == expected


@pytest.mark.parametrize("name, fragment", [
    ("bad_name.example.com", "not a valid DNS label"), ("*.com", "at least two labels"),
    ("a.*.example.com", "not a valid DNS label"), ("", "not a host name"), ("bücher.de", "punycode"),
])
def test_bad_domains_say_why(name, fragment):
    with pytest.raises(ValueError, match=fragment.replace("*", r"\*")):
        certs.normalize_domain(name)


def test_key_size_and_validity_are_checked():
    with pytest.raises(ValueError, match="key_size 1024"):
        certs.self_signed_wildcard(key_size=1024)
    with pytest.raises(ValueError, match="validity_days"):
        certs.create_ca(validity_days=0)
    assert load(certs.self_signed_wildcard(key_size=3072).cert_pem).public_key().key_size == 3072
