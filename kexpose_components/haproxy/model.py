"""The standalone HAProxy's configuration: a typed model, rendered with jinja2, checked by HAProxy.

One frontend on the chosen port binds every domain's certificate bundle; SNI rules
(``ssl_fc_sni``) send each domain to its cluster's backend; backends verify the apiserver's
certificate against that cluster's CA (``verify none`` only when the user chose insecure), with
``balance leastconn`` and health checks. Timeouts sit where HAProxy honours them (client-side
ones in ``defaults``, never in a backend) and default to long values so ``kubectl exec`` and
``logs -f`` survive. ``debug`` is never rendered: it logs bearer tokens.

:func:`check_config` runs the real ``haproxy -c`` on the rendered text, with the referenced files
placed in a scratch directory, so a bad option fails ``pulumi preview`` with HAProxy's own words.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from kexpose_components.errors import KexposeError
from kexpose_components.timeouts import Timeouts

NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
#: The response header carrying the served config's revision (see ``reload``).
REVISION_HEADER = "X-Kexpose-Revision"


@dataclass(frozen=True)
class Route:
    """One cluster behind the frontend."""

    backend: str  # e.g. backend_devkubernetes01
    vip: str  # apiserver.<service>.l4lb.thisdcos.directory:6443
    domains: tuple[str, ...] = ()  # SNI names routed here (empty: default backend only)
    ca_file: str | None = None  # file name in the config directory; None = verify none
    verify_host: str | None = None  # name to check in the apiserver cert (default: the VIP host)


@dataclass(frozen=True)
class HaproxyModel:
    name: str
    config_dir: str  # where the files live inside the container, e.g. /haproxy
    port: int = 6443
    bind_address: str = ""  # "" = all of the agent's addresses
    bind_options: str = ""  # extra options for the bind line, e.g. "alpn h2,http/1.1" (haproxy -c checks them)
    certificates: tuple[str, ...] = ()  # bundle file names in config_dir (cert, key, chain)
    routes: tuple[Route, ...] = ()
    default_backend: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    maxconn: int = 4096


_env = Environment(loader=PackageLoader("kexpose_components.haproxy", "templates"), undefined=StrictUndefined,
                   keep_trailing_newline=True, autoescape=False)


def render(model: HaproxyModel, config_dir: str | None = None, revision: str = "") -> str:
    """haproxy.cfg for ``model``; ``config_dir`` overrides where referenced files are (validation);
    ``revision`` (see ``reload``) goes into a comment the reloader reads and a response header."""
    base = (config_dir or model.config_dir).rstrip("/")
    return _env.get_template("haproxy.cfg.j2").render(model=model, path=lambda name: f"{base}/{name}", revision=revision,
                                                     revision_header=REVISION_HEADER)


def model_problems(model: HaproxyModel) -> list[tuple[str, str]]:
    """Mistakes caught before HAProxy sees the config: (field, what to do)."""
    problems = []
    if not 1 <= model.port <= 65535:
        problems.append(("port", "must be 1-65535, e.g. 6443"))
    if not model.config_dir.startswith("/"):
        problems.append(("config_dir", 'must be an absolute container path, e.g. "/haproxy"'))
    problems += [(f"timeouts.{key}", fix) for key, fix in model.timeouts.problems()]
    backends = [r.backend for r in model.routes]
    if len(set(backends)) != len(backends):
        problems.append(("routes", "backend names must be unique"))
    for r in model.routes:
        if not NAME.match(r.backend):
            problems.append((f"routes.{r.backend}", "backend names may use letters, digits, '_', '.', '-'"))
    domains = [d for r in model.routes for d in r.domains]
    if len(set(domains)) != len(domains):
        problems.append(("routes", "a domain may route to one cluster only"))
    if model.default_backend and model.default_backend not in backends:
        problems.append(("default_backend", f"{model.default_backend!r} is not one of the routes' backends"))
    if not model.default_backend and not domains:
        problems.append(("routes", "give each cluster a domain (SNI) or name a default backend"))
    if not model.certificates:
        problems.append(("certificates", "the frontend needs at least one certificate bundle"))
    return problems


def config_hash(config: str, files: dict[str, str]) -> str:
    """One digest over the config and every file it references, so the preview already knows
    whether anything HAProxy reads changed (the reloader's revision is its prefix, ``reload``)."""
    digest = hashlib.sha256(config.encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name].encode()).digest())
    return digest.hexdigest()


class HaproxyRejected(KexposeError, ValueError):
    """haproxy -c refused the configuration; the message is HAProxy's."""


def check_config(model: HaproxyModel, files: dict[str, str], extra: str = "") -> str:
    """Render and validate with the real ``haproxy -c``; returns the rendered config.

    ``files`` are the contents of the files the config references (bundles, CAs), written to a
    scratch directory for the check. ``extra`` appends user-supplied config (checked with it)."""
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        raise HaproxyRejected("haproxy is not installed here (run make setup): cannot validate the config")
    with tempfile.TemporaryDirectory(prefix="kexpose-haproxy-check-") as tmp:
        for name, content in files.items():
            path = Path(tmp) / name
            path.write_text(content)
            path.chmod(0o600)
        text = render(model, tmp) + extra
        (Path(tmp) / "haproxy.cfg").write_text(text)
        result = subprocess.run([haproxy, "-c", "-f", str(Path(tmp) / "haproxy.cfg")], capture_output=True,
                                text=True, timeout=30)
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if "[ALERT]" in line]
        message = " | ".join(lines) or (result.stdout + result.stderr).strip()
        raise HaproxyRejected(message.replace(tmp, model.config_dir))
    return render(model) + extra
