"""Trusted mode's certificates, for every method that has it (standalone HAProxy, Edge-LB): per
cluster domain, one issued by kexpose's CA (generated, or the user's ``issuingCa``) or the user's
own (``clusters[].certificate``), and what clients verify the served chain against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from kexpose_components import certs, naming
from kexpose_components.config import ClusterSettings
from kexpose_components.config.models import IssuingCaSettings, KeyRef
from kexpose_components.resources.certificate import CertificateAuthority, DomainCertificate, ProvidedCertificate


@dataclass(frozen=True)
class Trust:
    """What a cluster's clients verify the served chain against: a CA (handed over in the
    kubeconfig), or their own trust store (``system``: a chain from a public CA)."""

    ca_pem: pulumi.Input[str] | None = None
    system: bool = False


def private_key(ref: KeyRef) -> pulumi.Output[str]:
    """A user's private key, as a secret: from a secret config key, or read from its file."""
    if ref.key_secret:
        return pulumi.Config("kexpose").require_secret(ref.key_secret)
    return pulumi.Output.secret(Path(ref.key_file).read_text())


class Issuer:
    """The CA of trusted mode, made on first use: the user's own (``issuingCa``) or a generated one."""

    def __init__(self, name: str, issuing_ca: IssuingCaSettings | None, opts: pulumi.ResourceOptions):
        self.name, self.issuing_ca, self.opts = name, issuing_ca, opts
        self._ca: tuple[pulumi.Input[str], pulumi.Input[str]] | None = None

    def pair(self) -> tuple[pulumi.Input[str], pulumi.Input[str]]:
        if self._ca is None:
            own = self.issuing_ca
            if own:
                self._ca = (Path(own.cert_file).read_text(), private_key(own))
            else:
                ca = CertificateAuthority(f"{self.name}-ca", common_name=f"kexpose {self.name} CA", opts=self.opts)
                self._ca = (ca.cert_pem, ca.key_pem)
        return self._ca


def trusted_certificate(name: str, cluster: ClusterSettings, opts: pulumi.ResourceOptions, issuer: Issuer,
                        renew_before_days: int = certs.DEFAULT_RENEW_BEFORE_DAYS) -> tuple[Any, Trust]:
    """The certificate a trusted-mode cluster serves (named ``<name>-<service>-cert``), and what
    its clients verify it against. ``renew_before_days`` is the renewal window of issued ones."""
    flat = naming.flat_name(cluster.service)
    own = cluster.certificate
    if own is None:
        ca_cert, ca_key = issuer.pair()
        leaf = DomainCertificate(f"{name}-{flat}-cert", ca_cert_pem=ca_cert, ca_key_pem=ca_key, domains=[cluster.domain],
                                 renew_before_days=renew_before_days, opts=opts)
        return leaf, Trust(ca_cert)
    root = Path(own.root_file).read_text() if own.root_file else ""
    leaf = ProvidedCertificate(f"{name}-{flat}-cert", cert_pem=Path(own.cert_file).read_text(),
                               key_pem=private_key(own), chain_pem=Path(own.chain_file).read_text() if own.chain_file else "",
                               domains=[cluster.domain], verify_chain=True, root_pem=root, opts=opts)
    return leaf, Trust(root) if root else Trust(system=True)
