"""marathon-lb v1.15.0's config templates, as its ``config.py`` defines them (written out here).

``HEAD`` is marathon-lb's ``HAPROXY_HEAD`` line for line, with two differences, both because
the image's files are not here: the four ``lua-load`` lines and the ``listen stats`` endpoints
they serve (``/_haproxy_getpids``, ``/_haproxy_getvhostmap``, ``/_haproxy_getappmap``,
``/_haproxy_getconfig``, ``/_mlb_signal/*``) are left out. Everything else is as shipped:
syslog to ``/dev/log`` (nothing listens there, as in the image without ``HAPROXY_SYSLOGD``),
spread checks, the bind *and* server cipher lists and ``no-sslv3 no-tlsv10 no-tls-tickets``
(so backend TLS is as strict as in production), the master socket with ``expose-fd
listeners``, server state saved across reloads, ``timeout connect 3s``, and Prometheus metrics
on ``:9090/metrics``. The default options are marathon-lb's
``HAPROXY_GLOBAL_DEFAULT_OPTIONS`` (``redispatch,http-server-close,dontlognull``), sorted as it
sorts them. The three timeouts are placeholders only for the simulator's ``SIM_TIMEOUT_*`` knobs.
"""

from __future__ import annotations

#: marathon-lb's cipher list, the same for binds and servers (TLS 1.2 and below).
CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-RSA-AES256-SHA384",
    "DHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA256",
    "AES256-SHA256", "!aNULL", "!MD5", "!DSS",
])
#: Where the image keeps its master socket and server state (mounted from the task's sandbox).
SOCKET_DIR = "/var/run/haproxy"
STATE_DIR = "/var/state/haproxy"
TIMEOUTS = {"connect": "3s", "client": "30s", "server": "30s"}

HEAD = f"""global
  log /dev/log local0
  log /dev/log local1 notice
  spread-checks 5
  max-spread-checks 15000
  maxconn 50000
  tune.ssl.default-dh-param 2048
  ssl-default-bind-ciphers {CIPHERS}
  ssl-default-bind-options no-sslv3 no-tlsv10 no-tls-tickets
  ssl-default-server-ciphers {CIPHERS}
  ssl-default-server-options no-sslv3 no-tlsv10 no-tls-tickets
  stats socket {SOCKET_DIR}/socket expose-fd listeners
  server-state-file global
  server-state-base {STATE_DIR}/
defaults
  load-server-state-from-file global
  log               global
  retries                   3
  backlog               10000
  maxconn               10000
  timeout connect          {{timeout_connect}}
  timeout client          {{timeout_client}}
  timeout server          {{timeout_server}}
  timeout tunnel        3600s
  timeout http-keep-alive  1s
  timeout http-request    15s
  timeout queue           30s
  timeout tarpit          60s
  option            dontlognull
  option            http-server-close
  option            redispatch
listen stats
  bind 0.0.0.0:9090
  balance
  mode http
  stats enable
  http-request use-service prometheus-exporter if {{{{ path /metrics }}}}
  monitor-uri /_haproxy_health_check
"""
HTTP_FRONTEND_HEAD = "\nfrontend marathon_http_in\n  bind *:80\n  mode http\n"
HTTP_FRONTEND_APPID_HEAD = "\nfrontend marathon_http_appid_in\n  bind *:9091\n  mode http\n"
HTTPS_FRONTEND_HEAD = "\nfrontend marathon_https_in\n  bind *:443 ssl {sslCerts}\n  mode http\n"
FRONTEND_HEAD = "\nfrontend {backend}\n  bind {bindAddr}:{servicePort}{sslCert}{bindOptions}\n  mode {mode}\n"
BACKEND_HEAD = "\nbackend {backend}\n  balance {balance}\n  mode {mode}\n"
BACKEND_HTTP_OPTIONS = ("  option forwardfor\n  http-request set-header X-Forwarded-Port %[dst_port]\n"
                        "  http-request add-header X-Forwarded-Proto https if { ssl_fc }\n")
BACKEND_SERVER_OPTIONS = "  server {serverName} {host_ipv4}:{port}{cookieOptions}{healthCheckOptions}{otherOptions}\n"
