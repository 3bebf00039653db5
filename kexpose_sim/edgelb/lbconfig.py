"""A pool's haproxy.cfg, rendered the way Edge-LB's default template does.

The syntax is what the data plane's HAProxy 2.x accepts (``reqirep``/``rspirep`` became
``replace-*``; no log directives, as there is no syslog to send to). Which servers a backend
lists is not decided here: the renderer asks a resolver (``models`` implements it from the
simulated Mesos and Marathon state, as dcos-template does).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from typing import Any, Callable

from kexpose_sim.haproxy_defaults import DefaultTimeouts, defaults_section


@dataclass(frozen=True)
class Server:
    name: str
    address: str  # host:port HAProxy connects to


_GLOBAL = """\
global
  maxconn 50000
  tune.ssl.default-dh-param 2048
  ssl-default-bind-options no-sslv3 no-tlsv10 no-tls-tickets
  ssl-default-server-options no-sslv3 no-tlsv10 no-tls-tickets

""" + defaults_section(DefaultTimeouts(), last=("default-server init-addr last,libc,none",))


@dataclass
class HaproxyConfig:
    """Renders a pool as haproxy.cfg; ``servers`` resolves a backend service to the servers it
    selects right now."""

    pool: dict[str, Any]
    sandbox: str
    servers: Callable[[dict[str, Any]], list[Server]]
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        haproxy = self.pool["haproxy"]
        stats = haproxy["stats"]
        self.lines = [_GLOBAL, "listen stats", f"  bind {stats['bindAddress']}:{stats['bindPort']}", "  mode http",
                      "  stats enable", "  stats uri /haproxy?stats", "  monitor-uri /_haproxy_health_check", ""]
        for fe in haproxy["frontends"]:
            self._frontend(fe)
        for be in haproxy["backends"]:
            self._backend(be)
        return "\n".join(self.lines) + "\n"

    def _add(self, *lines: str) -> None:
        self.lines.extend(f"  {line}" for line in lines)

    def certificate_path(self, cert: str) -> str:
        """``$AUTOCERT`` and ``$SECRETS/x`` / ``$ENVFILE/x`` as files in the pool's sandbox."""
        if cert == "$AUTOCERT":
            return os.path.join(self.sandbox, "autocert.pem")
        kind, _, name = cert.partition("/")
        return os.path.join(self.sandbox, kind.lstrip("$").lower(), name)

    def _frontend(self, fe: dict[str, Any]) -> None:
        protocol = fe["protocol"]
        bind = f"bind {fe['bindAddress']}:{fe['bindPort']}"
        if protocol == "HTTPS":
            bind += " ssl" + "".join(f' crt "{self.certificate_path(c)}"' for c in fe["certificates"])
        if fe.get("bindModifier"):
            bind += f" {fe['bindModifier']}"
        self.lines.append(f"frontend {fe['name']}")
        self._add(bind, "mode http" if protocol in ("HTTP", "HTTPS") else "mode tcp")
        if protocol == "TLS":
            self._add("tcp-request inspect-delay 5s", "tcp-request content accept if { req_ssl_hello_type 1 }")
        if "redirectToHttps" in fe:
            self._add(_redirect(fe["redirectToHttps"]["except"]))
        self._add(*fe["miscStrs"])
        for item in fe["linkBackend"]["map"]:
            conditions = _link_conditions(protocol, item)
            self._add(f"use_backend {item['backend']}" + (f" if {conditions}" if conditions else ""))
        if fe["linkBackend"].get("defaultBackend"):
            self._add(f"default_backend {fe['linkBackend']['defaultBackend']}")
        self.lines.append("")

    def _backend(self, be: dict[str, Any]) -> None:
        http = be["protocol"] in ("HTTP", "HTTPS")
        self.lines.append(f"backend {be['name']}")
        self._add(f"balance {be['balance']}", "mode http" if http else "mode tcp")
        check = be.get("customCheck", {})
        if check.get("httpchk"):
            self._add(f"option httpchk {check.get('httpchkMiscStr', '')}".rstrip())
        if check.get("sslHelloChk"):
            self._add("option ssl-hello-chk")
        if check.get("miscStr"):
            self._add(check["miscStr"])
        rewrite = be["rewriteHttp"]
        sticky = http and rewrite.get("sticky", {}).get("enabled", False)
        if http:
            self._add(*_rewrite_lines(rewrite))
        self._add(*be["miscStrs"])
        seen: set[str] = set()
        for service in be["services"]:
            endpoint = service["endpoint"]
            for server in self.servers(service):
                if server.name in seen:  # two selectors picking one task: HAProxy needs unique names
                    continue
                seen.add(server.name)
                line = f"server {server.name} {server.address}"
                if endpoint["check"].get("enabled"):
                    line += f" check {endpoint['check'].get('customStr', '')}".rstrip()
                if be["protocol"] == "HTTPS":
                    line += " ssl verify none"
                if sticky:
                    line += f" cookie {base64.b64encode(server.name.encode()).decode()}"
                if endpoint.get("miscStr"):
                    line += f" {endpoint['miscStr']}"
                self._add(line)
        self.lines.append("")


def _redirect(exceptions: list[dict[str, str]]) -> str:
    line = "redirect scheme https code 307"
    alternatives = []
    for item in exceptions:
        acls = []
        if item.get("host"):
            acls.append(f"{{ req.hdr(host),field(1,:) -i {item['host']} }}")
        if item.get("pathBeg"):
            acls.append(f"{{ path_beg {item['pathBeg']} }}")
        alternatives.append(" ".join(acls) or "TRUE")
    return f"{line} unless {' || '.join(alternatives)}" if alternatives else line


def _link_conditions(protocol: str, item: dict[str, str]) -> str:
    """The ACLs of one ``linkBackend.map`` entry, ANDed, for the frontend's protocol."""
    if protocol == "TCP":
        return ""
    if protocol == "TLS":
        return f"{{ req.ssl_sni -i {item['hostEq']} }}" if item.get("hostEq") else ""
    host = ("ssl_fc_sni -i {}", "ssl_fc_sni -m reg {}") if protocol == "HTTPS" else \
        ("req.hdr(host),field(1,:) -i {}", "req.hdr(host) -i -m reg {}")
    templates = {"hostEq": host[0], "hostReg": host[1], "pathBeg": "path_beg {}", "pathReg": "path_reg {}",
                 "pathEnd": "path_end {}"}
    return " ".join(f"{{ {t.format(item[k])} }}" for k, t in templates.items() if item.get(k))


def _rewrite_lines(rewrite: dict[str, Any]) -> list[str]:
    lines = []
    sticky = rewrite.get("sticky")
    if sticky and sticky.get("enabled"):
        lines.append(sticky.get("customStr") or "cookie DCOS_SERVER_ID_FOR_THE_STICKY insert indirect nocache")
    request, response, path = rewrite["request"], rewrite["response"], rewrite.get("path")
    path = path if path and path["fromPath"] and path["toPath"] else None
    if request.get("forwardfor"):
        lines.append("option forwardfor")
    if request.get("xForwardedPort"):
        lines.append("http-request set-header X-Forwarded-Port %[dst_port]")
    if request.get("xForwardedProtoHttpsIfTls"):
        lines.append("http-request add-header X-Forwarded-Proto https if { ssl_fc }")
    if request.get("setHostHeader") and rewrite.get("host"):
        lines.append(f"http-request set-header Host {rewrite['host']}")
    if request.get("rewritePath") and path:
        lines.append(f"http-request replace-path ^{path['fromPath']}(.*) {path['toPath']}\\1")
    if response.get("rewriteLocation") and path:
        lines.append(f"http-response replace-header Location ^(https?://[^/]*)?{path['toPath']}(.*) "
                     f"{path['fromPath']}\\2 if {{ res.hdr(Location) -m found }}")
    return lines
