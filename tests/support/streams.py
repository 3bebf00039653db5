"""Long-lived client connections held open through an exposure while it changes, for tests: an idle
``kubectl exec``-style tunnel, and a loop of short ``curl`` requests that counts what failed."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading


def exec_tunnel(address: str, port: int, token: str, server_name: str | None = None, ca: str | None = None) -> ssl.SSLSocket:
    """What ``kubectl exec`` opens: a pod's exec upgraded to a stream protocol (101), then left idle."""
    context = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    tls = context.wrap_socket(socket.create_connection((address, port), timeout=10), server_hostname=server_name)
    tls.sendall(f"POST /api/v1/namespaces/default/pods/hello/exec?command=sh&stdin=true&stdout=true&tty=true HTTP/1.1\r\n"
                f"Host: {server_name or address}:{port}\r\nAuthorization: Bearer {token}\r\nConnection: Upgrade\r\n"
                "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        assert chunk, f"the exec upgrade was closed: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return tls


def echoes(tunnel: ssl.SSLSocket, text: str) -> bool:
    """Whether the tunnel is still open end to end: the pod's side echoes what is sent."""
    try:
        tunnel.sendall(text.encode())
        return tunnel.recv(4096) == text.encode()
    except OSError:
        return False


class CurlLoop:
    """``curl`` run again and again (a new connection each time) until stopped; every answer
    other than ``expect`` (the HTTP status) is a failure, kept with curl's message."""

    def __init__(self, *args: str, expect: str = "403"):
        self.args, self.expect = args, expect
        self.attempts = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="curl-loop")

    def __enter__(self) -> CurlLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", *self.args],
                                 capture_output=True, text=True)
            self.attempts += 1
            if out.stdout != self.expect:
                self.failures.append(f"{out.stdout} {out.stderr.strip()}")
