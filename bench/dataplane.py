"""Benchmark 4: the data plane — HAProxy as kexpose renders it vs the seeds' example-1 config.

Both run as real ``haproxy`` on 127.0.0.1 in front of the same TLS backend, and ``wrk`` (a TLS
client) measures requests/s and latency percentiles through each, alternating, several times.
Backends: a static HAProxy answering the apiserver's anonymous 403 ``Status`` (fast, so the proxy
under test is what is measured) and the simulator's Python kube-apiserver (realistic, but slow
enough to be the bottleneck for both). A third scenario sends ``Connection: close`` so every
request is a new TLS handshake with the proxy (what one-shot ``kubectl`` invocations look like).
"""

from __future__ import annotations

import logging
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import urllib3

from bench.common import median, ratio
from kexpose_components import certs
from kexpose_components.haproxy.model import HaproxyModel, Route, check_config
from kexpose_sim.dataplane.apiserver import ApiServerIdentity, KubeApiServer
from kexpose_sim.dataplane.pki import issue, new_ca
from tests.seeds import QUICK_CONFIG

HOST = "127.0.0.1"
DOMAIN = "localhost"  # the SNI wrk sends for https://localhost:… (resolves to 127.0.0.1, no /etc/hosts edits)
VIP_HOST = "apiserver.kubernetes.l4lb.thisdcos.directory"
FORBIDDEN = ('{"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": '
             '"forbidden: User \\"system:anonymous\\" cannot get path \\"/\\"", "reason": "Forbidden", '
             '"details": {}, "code": 403}\n')


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def haproxy(config: str, workdir: Path, name: str) -> Iterator[None]:
    """Run ``haproxy -f`` (foreground) on ``config`` until the block ends."""
    path = workdir / f"{name}.cfg"
    path.write_text(config)
    proc = subprocess.Popen(["haproxy", "-f", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def wait_ready(port: int, timeout: float = 10.0) -> None:
    """Until a TLS GET / through the proxy gets the apiserver's 403 (backend up, checks passed)."""
    urllib3.disable_warnings()
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"https://{DOMAIN}:{port}/", verify=False, timeout=2).status_code == 403:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered 403 on port {port}")
        time.sleep(0.1)


def static_backend(port: int, pem: str, workdir: Path) -> str:
    """A TLS endpoint answering the anonymous 403 Status itself (HAProxy ``http-request return``)."""
    (workdir / "body.json").write_text(FORBIDDEN)
    return (f"global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n"
            f"    timeout server 30s\nfrontend apiserver\n    bind {HOST}:{port} ssl crt {pem}\n"
            f"    http-request return status 403 content-type application/json file {workdir / 'body.json'}\n")


def kexpose_config(port: int, backend_port: int, cluster_ca_pem: str, workdir: Path) -> str:
    """kexpose's trusted mode for one cluster: a CA-issued certificate for the domain, SNI routing,
    the backend verified against the cluster's CA with ``verifyhost`` — rendered and ``haproxy -c``-checked."""
    ca = certs.create_ca(common_name="kexpose bench CA")
    leaf = certs.issue_domain_certificate(ca.cert_pem, ca.key_pem, [DOMAIN])
    files = {"kubernetes.pem": leaf.bundle_pem, "kubernetes-ca.pem": cluster_ca_pem}
    model = HaproxyModel(name="bench", config_dir=str(workdir / "kexpose"), port=port, bind_address=HOST,
                         certificates=("kubernetes.pem",),
                         routes=(Route(backend="backend_kubernetes", vip=f"{HOST}:{backend_port}", domains=(DOMAIN,),
                                       ca_file="kubernetes-ca.pem", verify_host=VIP_HOST),))
    text = check_config(model, files)
    (workdir / "kexpose").mkdir(exist_ok=True)
    for name, content in files.items():
        (workdir / "kexpose" / name).write_text(content)
    return text


def seeds_config(port: int, backend_port: int, workdir: Path) -> str:
    """The seeds' example 1 (QUICK_CONFIG from tests/sim/test_dataplane.py): a self-signed wildcard,
    ``verify none`` to the backend; adapted only in where it binds and what the server address is."""
    bundle = certs.self_signed_wildcard(domains=[DOMAIN])
    (workdir / "seeds.pem").write_text(bundle.bundle_pem)
    return (QUICK_CONFIG.replace("bind :6443 ssl crt /haproxy/haproxy.pem", f"bind {HOST}:{port} ssl crt {workdir / 'seeds.pem'}")
            .replace("apiserver.kubernetes.l4lb.thisdcos.directory:6443", f"{HOST}:{backend_port}"))


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(port: int, duration: int, close: bool) -> dict[str, float]:
    """``wrk -t2 -c16 -d<duration>s --latency``: requests/s, p50 and p99 in milliseconds."""
    cmd = ["wrk", "-t2", "-c16", f"-d{duration}s", "--latency"]
    if close:
        cmd += ["-H", "Connection: close"]
    out = subprocess.run(cmd + [f"https://{DOMAIN}:{port}/"], capture_output=True, text=True, timeout=duration + 30,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _seconds(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _seconds(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50_ms": p50 * 1e3, "p99_ms": p99 * 1e3,
            "non_2xx_3xx": float(non2xx.group(1)) if non2xx else 0.0, "socket_errors": 1.0 if errors else 0.0}


def run(reps: int, duration: int) -> dict[str, Any]:
    """Each scenario: kexpose and seeds alternately, ``reps`` times; medians and kexpose/seeds ratios."""
    if not shutil.which("wrk") or not shutil.which("haproxy"):
        return {"skipped": "wrk or haproxy not installed (make setup installs both)"}
    cluster_ca = new_ca("bench cluster CA")
    server = issue(cluster_ca, VIP_HOST, [VIP_HOST])
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kexpose-bench-dp-") as tmp:
        work = Path(tmp)
        (work / "backend.pem").write_text(server.cert_pem + server.key_pem)
        kport, sport = free_port(), free_port()
        for scenario, backend, close in (("static backend, keep-alive", "static", False),
                                         ("static backend, new TLS per request", "static", True),
                                         ("sim kube-apiserver, keep-alive", "apiserver", False)):
            bport = free_port()
            with _backend(backend, bport, work, cluster_ca, server):
                configs = {"kexpose": kexpose_config(kport, bport, cluster_ca.cert_pem, work),
                           "seeds": seeds_config(sport, bport, work)}
                samples: dict[str, list[dict[str, float]]] = {"kexpose": [], "seeds": []}
                with haproxy(configs["kexpose"], work, "kexpose"), haproxy(configs["seeds"], work, "seeds"):
                    wait_ready(kport)
                    wait_ready(sport)
                    for _ in range(reps):
                        for name, port in (("kexpose", kport), ("seeds", sport)):
                            samples[name].append(run_wrk(port, duration, close))
            row: dict[str, Any] = {}
            for name in ("kexpose", "seeds"):
                row[name] = {k: median([s[k] for s in samples[name]]) for k in samples[name][0]}
            row["ratio_rps"] = ratio(row["kexpose"]["rps"], row["seeds"]["rps"])
            row["ratio_p99"] = ratio(row["kexpose"]["p99_ms"], row["seeds"]["p99_ms"])
            results[scenario] = row
    return results


@contextmanager
def _backend(kind: str, port: int, work: Path, cluster_ca: Any, server: Any) -> Iterator[None]:
    if kind == "static":
        with haproxy(static_backend(port, str(work / "backend.pem"), work), work, "backend"):
            yield
    else:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request would cost throughput
        api = KubeApiServer(ApiServerIdentity("kubernetes", cluster_ca, server, "bench-token"), [(HOST, port)]).start()
        try:
            yield
        finally:
            api.stop()
