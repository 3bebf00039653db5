"""The seeds' documents (../shared/seeds), as tests and benchmarks use them: one copy each."""

from __future__ import annotations

SEED_HAPROXY_APP = {
    "id": "/kubernetes-haproxy", "acceptedResourceRoles": ["slave_public"],
    "cmd": "/usr/local/sbin/haproxy -f /haproxy/haproxy.conf", "constraints": [["hostname", "UNIQUE"]],
    "container": {"type": "MESOS", "volumes": [{"containerPath": "/haproxy", "hostPath": "/opt/haproxy", "mode": "RO"}],
                  "docker": {"image": "haproxy:1.8.14", "forcePullImage": False, "parameters": []}},
    "cpus": 0.1, "instances": 1, "mem": 128, "networks": [{"mode": "host"}],
    "portDefinitions": [{"protocol": "tcp", "port": 6443}], "requirePorts": True,
}
QUICK_CONFIG = """global
    log 127.0.0.1 local0
    tune.ssl.default-dh-param 2048
defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 10s
    timeout client 86400s
    timeout server 86400s
    timeout tunnel 86400s
frontend frontend_all
    bind :6443 ssl crt /haproxy/haproxy.pem
    mode http
    default_backend backend_kube_apiserver
backend backend_kube_apiserver
    mode http
    balance leastconn
    server kube-apiserver apiserver.kubernetes.l4lb.thisdcos.directory:6443 check ssl verify none
"""
MARATHON_LB_APP = {
    "id": "/marathon-lb", "args": ["sse", "-m", "http://marathon.mesos:8080", "--health-check", "--group", "external"],
    "acceptedResourceRoles": ["slave_public"], "cpus": 0.5, "mem": 256, "instances": 1,
    "container": {"type": "DOCKER", "docker": {"image": "mesosphere/marathon-lb:v1.15.0"}},
    "portDefinitions": [{"port": 80}, {"port": 443}, {"port": 9090}, {"port": 9091}], "requirePorts": True,
    "env": {"SIM_TIMEOUT_CLIENT": "2s"},
}
SERVER_OPTIONS = ("  timeout connect 10s\n  timeout client 86400s\n  timeout server 86400s\n  timeout tunnel 86400s\n"
                  "  server kube-apiserver apiserver.kubernetes.l4lb.thisdcos.directory:6443 ssl {verify}\n")
DUMMY_APP = {
    "id": "/kubectl-proxy", "instances": 1, "cpus": 0.001, "mem": 16, "cmd": "tail -F /dev/null",
    "container": {"type": "MESOS"}, "portDefinitions": [{"protocol": "tcp", "port": 0}],
    "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_MODE": "http", "HAPROXY_0_PORT": "6443",
               "HAPROXY_0_SSL_CERT": "/etc/ssl/cert.pem"},
}
SEED_POOL = {
    "apiVersion": "V2", "name": "kubectl-proxy", "count": 1, "autoCertificate": True,
    "haproxy": {
        "frontends": [{"bindPort": 6443, "protocol": "HTTPS", "certificates": ["$AUTOCERT"],
                       "linkBackend": {"defaultBackend": "kubernetes-apiserver"}}],
        "backends": [{"name": "kubernetes-apiserver", "protocol": "HTTPS", "services": [{
            "mesos": {"frameworkName": "kubernetes", "taskNamePattern": "kube-apiserver"},
            "endpoint": {"portName": "apiserver"}}]}],
        "stats": {"bindPort": 6090},
    },
}
