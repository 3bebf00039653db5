"""Certificate resources through the real engine (file backend, no DC/OS needed)."""

from __future__ import annotations

import json
import re

import pulumi
import pytest
from pulumi import automation as auto

from kexpose_components import certs
from tests.support.tls import verify_for_client
from kexpose_components.resources.certificate import (
    CertificateAuthority,
    DomainCertificate,
    ProvidedCertificate,
    SelfSignedWildcard,
)

DOMAIN = "devkubernetes01.example.com"


def _brought() -> certs.CertificateBundle:
    """A certificate as a user would bring it: leaf + key + chain from some other CA."""
    ca = certs.create_ca(common_name="Example Corp CA")
    return certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, ["api.example.com"])


def all_kinds_program(brought: certs.CertificateBundle):
    def program():
        wildcard = SelfSignedWildcard("quick")
        ca = CertificateAuthority("ca", common_name="kexpose test CA")
        leaf = DomainCertificate("api", ca=ca, domains=[DOMAIN, "10.0.0.5"])
        provided = ProvidedCertificate("brought", cert_pem=brought.cert_pem, key_pem=brought.key_pem,
                                       chain_pem=brought.chain_pem, domains=["api.example.com"])
        for name, res in (("wildcard", wildcard), ("ca", ca), ("leaf", leaf), ("provided", provided)):
            pulumi.export(f"{name}_fp", res.fingerprint_sha256)
            pulumi.export(f"{name}_not_after", res.not_after)
            pulumi.export(f"{name}_domains", res.domains)
            pulumi.export(f"{name}_bundle", res.bundle_pem)
            pulumi.export(f"{name}_key", res.key_pem)
        pulumi.export("ca_cert", ca.cert_pem)
        pulumi.export("leaf_chain", leaf.chain_pem)
    return program


def test_each_kind_is_created_checked_and_stable(stack_factory):
    brought = _brought()
    stack = stack_factory(all_kinds_program(brought))
    up = stack.up()
    assert up.summary.resource_changes == {"create": 5}
    out = up.outputs

    assert out["wildcard_domains"].value == ["*"]
    assert out["leaf_domains"].value == [DOMAIN, "10.0.0.5"]
    assert out["provided_domains"].value == ["api.example.com"]
    assert out["provided_fp"].value == brought.info.fingerprint_sha256
    for kind in ("wildcard", "ca", "leaf", "provided"):
        assert out[f"{kind}_key"].secret and out[f"{kind}_bundle"].secret
        assert not out[f"{kind}_fp"].secret

    # what HAProxy would load: certificate, key, chain, and it all checks out
    bundle = out["leaf_bundle"].value
    assert [b.label for b in certs.pem_blocks(bundle)] == ["CERTIFICATE", "PRIVATE KEY", "CERTIFICATE"]
    blocks = certs.pem_blocks(bundle)
    checked = certs.validate_bundle(blocks[0].text, blocks[1].text, blocks[2].text, [DOMAIN, "10.0.0.5"])
    assert checked.info.fingerprint_sha256 == out["leaf_fp"].value
    verify_for_client(blocks[0].text, out["leaf_chain"].value, out["ca_cert"].value, DOMAIN)
    wildcard = certs.pem_blocks(out["wildcard_bundle"].value)
    assert [b.label for b in wildcard] == ["CERTIFICATE", "PRIVATE KEY"]
    assert certs.certificate_info(wildcard[0].text).common_name == "*"

    stack.preview(expect_no_changes=True)
    assert stack.refresh().summary.resource_changes == {"same": 5}

    # private keys never in plain text: not in the export a user runs, not on disk, not in the log
    exported = stack.plain_export()
    assert "PRIVATE KEY" not in exported
    assert "PRIVATE KEY" not in stack.raw_state()
    assert "PRIVATE KEY" not in up.stdout + up.stderr
    resources = {r["urn"].rsplit("::", 1)[1]: r for r in json.loads(exported)["deployment"]["resources"]}
    assert resources["api"]["outputs"]["cert_pem"].startswith("-----BEGIN CERTIFICATE-----")  # public stays readable
    assert "ca_key_pem" not in resources["api"]["outputs"]  # the CA's key is not copied to what it signs
    for name in ("quick", "ca", "api", "brought"):
        assert "ciphertext" in resources[name]["outputs"]["key_pem"], name
        assert "ciphertext" in resources[name]["outputs"]["bundle_pem"], name

    stack.destroy()


def renewal_program(validity_days: int, renew_before_days: int = 30, domains=(DOMAIN,)):
    def program():
        ca = CertificateAuthority("ca")
        short = DomainCertificate("short", ca=ca, domains=list(domains), validity_days=validity_days,
                                  renew_before_days=renew_before_days)
        steady = DomainCertificate("steady", ca=ca, domains=["steady.example.com"])
        pulumi.export("short_fp", short.fingerprint_sha256)
        pulumi.export("short_not_after", short.not_after)
        pulumi.export("steady_fp", steady.fingerprint_sha256)
    return program


def test_certificate_inside_renewal_window_is_reissued_and_preview_says_why(stack_factory):
    stack = stack_factory(renewal_program(validity_days=10, renew_before_days=30))
    first = dict(stack.up().outputs)  # read now: a result is not read after a later up

    preview = stack.preview()
    assert preview.change_summary == {"update": 1, "same": 3}
    text = preview.stdout + preview.stderr
    assert re.search(rf"certificate for {re.escape(DOMAIN)} expires \d{{4}}-\d\d-\d\d "
                     r"\(within the 30-day renewal window\).*: a new one will be issued", text), text

    up = stack.up()
    assert up.summary.resource_changes == {"update": 1, "same": 3}
    second = dict(up.outputs)
    assert second["short_fp"].value != first["short_fp"].value
    assert second["steady_fp"].value == first["steady_fp"].value

    # a renewal window that no longer covers it: the setting is recorded, the certificate kept
    stack.set_program(renewal_program(validity_days=10, renew_before_days=5))
    preview = stack.preview()
    assert preview.change_summary == {"update": 1, "same": 3}
    assert "a new one will be issued" not in preview.stdout + preview.stderr
    third = dict(stack.up().outputs)
    assert third["short_fp"].value == second["short_fp"].value
    stack.preview(expect_no_changes=True)

    # new domains: a new certificate, and the preview names the change
    stack.set_program(renewal_program(validity_days=10, renew_before_days=5, domains=(DOMAIN, "k8s.example.com")))
    preview = stack.preview()
    assert "domains changed" in preview.stdout + preview.stderr
    assert stack.up().outputs["short_fp"].value != third["short_fp"].value


def test_renewed_ca_reissues_what_it_signed(stack_factory):
    def program(ca_validity: int):
        def run():
            ca = CertificateAuthority("ca", validity_days=ca_validity, renew_before_days=30)
            leaf = DomainCertificate("api", ca=ca, domains=[DOMAIN], validity_days=5, renew_before_days=1)
            pulumi.export("ca_fp", ca.fingerprint_sha256)
            pulumi.export("leaf_issuer_chain", leaf.chain_pem)
            pulumi.export("ca_cert", ca.cert_pem)
        return run

    stack = stack_factory(program(10))
    stack.up()
    preview = stack.preview()
    assert "CA certificate 'kexpose CA' expires" in preview.stdout + preview.stderr
    up = stack.up()
    assert up.summary.resource_changes == {"update": 2, "same": 1}
    assert up.outputs["leaf_issuer_chain"].value == up.outputs["ca_cert"].value  # signed by the new CA


def test_bad_provided_certificate_fails_preview_naming_the_field(stack_factory):
    brought = _brought()
    other_key = certs.self_signed_wildcard().key_pem

    def program():
        ProvidedCertificate("brought", cert_pem=brought.cert_pem, key_pem=other_key, chain_pem=brought.chain_pem,
                            domains=["other.example.com"])

    stack = stack_factory(program)
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "key_pem" in text and "does not belong to cert_pem" in text
    assert "domains" in text and "other.example.com not covered" in text
    assert "Traceback" not in text
    assert "PRIVATE KEY" not in text


def test_bad_inputs_of_issued_certificates_fail_check(stack_factory):
    not_a_ca = _brought()  # a server certificate cannot sign others
    stack = stack_factory(lambda: DomainCertificate(
        "api", ca_cert_pem=not_a_ca.cert_pem, ca_key_pem=not_a_ca.key_pem, domains=["bad_name.example.com"],
        validity_days=0))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    text = str(err.value)
    assert "property validity_days value {0} has a problem: must be a whole number of days >= 1, not 0\n" in text
    assert "property domains" in text and "'bad_name.example.com': label 'bad_name'" in text
    assert "DomainCertificate resource 'api' has a problem: ca_cert_pem" in text and "is not a CA" in text
    assert "Traceback" not in text and "PRIVATE KEY" not in text

    stack.set_program(lambda: SelfSignedWildcard("quick", key_size=1024))
    with pytest.raises(auto.errors.CommandError) as err:
        stack.preview()
    assert "property key_size value {1024} has a problem: must be one of 2048, 3072, 4096" in str(err.value)
