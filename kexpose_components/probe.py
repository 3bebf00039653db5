"""Check an exposure the way a client meets it: TCP, then TLS with SNI (chain verified against the
expected CA when there is one), then ``GET /`` answered by the apiserver's anonymous 403 ``Status``.
A failure says which hop failed and what usually causes it. :func:`served_revision` asks one agent
which config revision its HAProxy serves (the standalone HAProxy's response header)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from dataclasses import dataclass

from cryptography import x509

from kexpose_components import cancellation
from kexpose_components.certs import fingerprint_sha256
from kexpose_components.errors import KexposeError
from kexpose_components.haproxy.model import REVISION_HEADER


class ProbeFailed(KexposeError):
    def __init__(self, hop: str, message: str):
        self.hop = hop
        super().__init__(f"{hop}: {message}")


@dataclass(frozen=True)
class ProbeResult:
    latency_ms: float
    verified: bool
    not_after: str
    subject: str


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


#: ``ca_pem`` meaning "verify against this machine's trust store" (a chain from a public CA).
SYSTEM_TRUST = "system"


def _context(ca_pem: str | None, server_name: str) -> ssl.SSLContext:
    if ca_pem == SYSTEM_TRUST:
        context = ssl.create_default_context()
    elif ca_pem:
        context = ssl.create_default_context(cadata=ca_pem)
    else:
        return ssl._create_unverified_context()  # noqa: S323 - nothing to verify against: said in the result
    context.check_hostname = not _is_ip(server_name)
    return context


def probe_once(host: str, port: int, server_name: str, ca_pem: str | None, timeout: float = 10.0,
               fingerprint: str | None = None) -> ProbeResult:
    """One probe; ``fingerprint`` (SHA-256, as openssl prints it): the certificate that must be
    served, so a probe after a rotation passes only once the new one is loaded."""
    started = time.monotonic()
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise ProbeFailed("tcp", f"cannot connect to {host}:{port} ({exc.strerror or exc}); is the load balancer "
                                 "running on that agent and the port open?") from None
    try:
        tls = _context(ca_pem, server_name).wrap_socket(raw, server_hostname=None if _is_ip(server_name) else server_name)
    except ssl.SSLCertVerificationError as exc:
        raw.close()
        raise ProbeFailed("tls", f"the certificate served on {host}:{port} for {server_name} does not verify against "
                                 f"the expected CA: {exc.verify_message}") from None
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        raise ProbeFailed("tls", f"TLS handshake with {host}:{port} (SNI {server_name}) failed: {exc}") from None
    der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    served = fingerprint_sha256(cert)
    if fingerprint and served != fingerprint:
        tls.close()
        raise ProbeFailed("tls", f"{host}:{port} serves the certificate {served[:23]}… for {server_name}, not the "
                                 f"expected {fingerprint[:23]}… (the load balancer has not loaded the new one)")
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = tls
        conn.request("GET", "/", headers={"Host": f"{server_name}:{port}", "Accept": "application/json"})
        response = conn.getresponse()
        body = response.read(65536).decode(errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise ProbeFailed("http", f"no HTTP answer through {host}:{port}: {exc}") from None
    finally:
        tls.close()
    latency = (time.monotonic() - started) * 1000
    _expect_apiserver(response.status, body, host, port)
    return ProbeResult(round(latency, 1), bool(ca_pem), cert.not_valid_after_utc.isoformat(), cert.subject.rfc4514_string())


def _expect_apiserver(status: int, body: str, host: str, port: int) -> None:
    if status == 503:
        raise ProbeFailed("backend", f"the load balancer on {host}:{port} has no healthy apiserver behind it (503): the "
                                     "VIP is unreachable from the agent, or the apiserver's certificate failed the "
                                     "backend verification (ca-file)")
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if status != 403 or not isinstance(payload, dict) or payload.get("kind") != "Status" or "system:anonymous" not in payload.get("message", ""):
        raise ProbeFailed("apiserver", f"expected the apiserver's 403 Status for system:anonymous on GET /, got {status}: {body[:200]!r}")


def probe(host: str, port: int, server_name: str, ca_pem: str | None, wait: float = 60.0,
          fingerprint: str | None = None) -> ProbeResult:
    """Probe until it passes or ``wait`` seconds are up (HAProxy may still be starting or its
    first health check pending); the last failure is raised."""
    deadline = time.monotonic() + wait
    delay = 0.1
    while True:
        try:
            return probe_once(host, port, server_name, ca_pem, fingerprint=fingerprint)
        except ProbeFailed:
            if time.monotonic() >= deadline:
                raise
            cancellation.sleep(delay, f"{server_name} on {host}:{port} to answer")
            delay = min(delay * 1.5, 2.0)


def served_revision(host: str, port: int, timeout: float = 5.0) -> str | None:
    """The revision header of the answer to ``GET /`` on a new connection to ``host:port``, or None
    when nothing answers. Only which config answers matters here (the probe checks trust), so the
    certificate is not verified and no SNI is sent (an SNI-only frontend answers 503, with the header)."""
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
        with ssl._create_unverified_context().wrap_socket(raw) as tls:  # noqa: S323 - see the docstring
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.sock = tls
            conn.request("GET", "/", headers={"Host": f"{host}:{port}"})
            response = conn.getresponse()
            response.read(65536)
            return response.getheader(REVISION_HEADER)
    except (OSError, http.client.HTTPException):
        return None
