"""Certificates as stack resources: ``SelfSignedWildcard``, ``CertificateAuthority``,
``DomainCertificate`` and ``ProvidedCertificate``, with the dynamic providers behind them.

Contract:
- ``check`` validates inputs locally; failures name the field (``domains``, ``key_pem``, ...) and
  say how to fix it. A user-brought certificate gets every check of :mod:`kexpose_components.certs`
  (key matches, chain verifies, domains covered, not expired) before anything is deployed.
- Expiry is part of the diff: when the stored certificate is inside its renewal window
  (``renew_before_days``, default 30) or an input that shapes it changed (domains, key size,
  validity, signing CA), ``diff`` reports a change and ``update`` issues a new certificate. The
  engine cannot show a reason for a dynamic provider's diff, so ``diff`` also announces it.
  Changing only ``renew_before_days`` keeps the certificate.
- Private keys never reach state in plain text: ``key_pem`` and ``bundle_pem`` are secret outputs
  (set by the resource classes), private-key inputs are passed as secrets, and a CA's key is not
  copied into the outputs of the certificates it signs.
- Nothing lives outside the state, so ``read`` returns the state and ``delete`` has nothing to do.

Properties arrive as :mod:`kexpose_components.resources.inputs` makes them plain (``30.0`` is
``30`` again) and are read as :class:`~.common.CertificateInputs`. The parts: :mod:`.common`
(typed properties, shared checks, outputs), :mod:`.issued` (the three kinds kexpose issues),
:mod:`.provided` (a certificate the user brings). The providers are importable from here, where
stacks created before the split recorded them.
"""


from kexpose_components.resources.certificate.common import CertificateInputs, CertificateIssueError
from kexpose_components.resources.certificate.issued import (
    CertificateAuthority,
    CertificateAuthorityProvider,
    DomainCertificate,
    DomainCertificateProvider,
    SelfSignedWildcard,
    SelfSignedWildcardProvider,
)
from kexpose_components.resources.certificate.provided import ProvidedCertificate, ProvidedCertificateProvider

