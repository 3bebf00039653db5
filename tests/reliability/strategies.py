"""Hypothesis strategies: stack config, Marathon apps and Edge-LB pools, mostly plausible with junk
mixed in at every level (what a hand-edited YAML file can hold)."""

from __future__ import annotations

from hypothesis import strategies as st

JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(-70000, 70000) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def maybe(strategy, junk=JUNK):
    """Usually the plausible value, sometimes junk, sometimes absent (None -> key dropped)."""
    return st.one_of(strategy, strategy, strategy, junk)


def obj(required: dict, optional: dict | None = None):
    """A dict whose keys are each present with a plausible-or-junk value, plus rare unknown keys."""
    fields = {k: maybe(v) for k, v in required.items()}
    opt = {k: maybe(v) for k, v in (optional or {}).items()}
    extra = st.dictionaries(st.sampled_from(["zz", "unknownKey", "Id"]), JUNK, max_size=1)
    return st.builds(lambda a, b, c: {**c, **a, **b},
                     st.fixed_dictionaries(fields), st.fixed_dictionaries({}, optional=opt), extra)


# --- stack config -----------------------------------------------------------------------------
SERVICES = st.sampled_from(["kubernetes", "dev/kubernetes01", "dev/kubernetes02", "Bad_Name", "/dev//k8s/", ""])
HOSTS = st.sampled_from(["10.0.0.7", "127.0.0.1", "agent-1.example.com", "not a host", ""])
PORTS = st.one_of(st.sampled_from([6443, 7443, 80, 443, 9090, 10050, 0, 65536, 22]), st.integers(-5, 70000))
DURATIONS = st.sampled_from(["30s", "15m", "86400s", "1h", "soon", "", "10"])

DCOS = obj({"url": st.sampled_from(["https://dcos.example.com", "http://127.0.0.1:8080", "http://dcos.example.com",
                                    "ftp://x", "https://", ""])},
           {"uid": st.sampled_from(["kexpose", ""]), "verify": st.booleans(),
            "caBundleFile": st.sampled_from(["/etc/hostname", "/nonexistent/ca.pem", "~/ca.pem"]),
            "marathonPath": st.just("/service/marathon"), "edgelbPath": st.just("/service/edgelb")})
CLUSTER = obj({"service": SERVICES},
              {"domain": st.sampled_from(["devkubernetes01.example.com", "k8s.example.com", "-bad-", "a..b"]),
               "ca": st.sampled_from(["cluster", "file", "other"]),
               "caFile": st.sampled_from(["/etc/hostname", "/nonexistent.pem"])})
SSH = obj({"user": st.just("core")},
          {"port": PORTS, "privateKeyFile": st.sampled_from(["/etc/hostname", "/nonexistent"]),
           "knownHostsFile": st.sampled_from(["/etc/hostname", "/nonexistent"])})
EXPOSURE = obj(
    {"name": st.sampled_from(["public", "mlb", "elb", "Bad Name", ""]),
     "method": st.sampled_from(["haproxy", "marathon-lb", "edge-lb", "nginx"]),
     "clusters": st.lists(SERVICES, max_size=3), "port": PORTS, "agents": st.lists(HOSTS, max_size=2)},
    {"cluster": SERVICES, "mode": st.sampled_from(["quick", "trusted", "fast"]),
     "directory": st.sampled_from(["/opt/kexpose/haproxy", "relative/dir"]), "ssh": SSH,
     "insecureBackend": st.booleans(), "verifyBackend": st.booleans(),
     "image": st.just("haproxy:2.8"), "group": st.just("external"), "caBundlePath": st.just("/ca.pem"),
     "poolName": st.just("kubectl-proxy"), "statsPort": PORTS, "statsBindAddress": st.just("127.0.0.1"),
     "timeouts": st.dictionaries(st.sampled_from(["connect", "client", "server", "tunnel", "idle"]), DURATIONS, max_size=3),
     "contextName": st.just("ctx"), "urlHost": st.sampled_from(["domain", "agent", "ip"]), "bindOptions": st.just("")})
RAW_CONFIG = obj(
    {"dcos": DCOS, "clusters": st.lists(CLUSTER, max_size=3), "exposures": st.lists(EXPOSURE, max_size=3)},
    {"kubeconfig": obj({}, {"path": st.just("~/.kube/config"), "activate": st.booleans()})})
SECRETS = st.sets(st.sampled_from(["dcosPassword", "dcosToken", "dcosPrivateKey"]))

# --- Marathon apps --------------------------------------------------------------------------------
APP_IDS = st.one_of(st.sampled_from(["/dev/worker", "/kubectl-proxy", "dev/a.b", "/Dev/x", "/-x", "/x/tasks", "/", ""]),
                    st.lists(st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,6}[a-z0-9]\Z"), min_size=1, max_size=3)
                    .map(lambda segs: "/prop/" + "/".join(segs)))
PORT_DEF = obj({"port": st.one_of(st.sampled_from([0, 6443, 10101]), st.integers(-1, 70000))},
               {"protocol": st.sampled_from(["tcp", "udp", "udp,tcp", "sctp"]),
                "name": st.sampled_from(["apiserver", "http", "Bad_Name", ""])})
CONSTRAINT = st.one_of(
    st.tuples(st.sampled_from(["hostname", "zone"]), st.sampled_from(["UNIQUE", "CLUSTER", "LIKE", "UNLIKE", "MAX_PER", "IS", "NOPE"]))
    .map(list),
    st.tuples(st.sampled_from(["hostname"]), st.sampled_from(["UNIQUE", "CLUSTER", "LIKE", "UNLIKE", "MAX_PER", "IS"]),
              st.sampled_from(["1", "10.0.0.7", "[", "a.*", ""])).map(list))
VOLUME = obj({"containerPath": st.sampled_from(["/haproxy", ""])},
             {"hostPath": st.sampled_from(["/opt/haproxy", ""]), "mode": st.sampled_from(["RO", "RW", "XX"])})
CONTAINER = obj({"type": st.sampled_from(["MESOS", "DOCKER", "UCR"])},
                {"docker": obj({"image": st.sampled_from(["haproxy:2.8", "mesosphere/marathon-lb:v1.15.0", ""])}),
                 "volumes": st.lists(VOLUME, max_size=2)})
APP = obj({"id": APP_IDS},
          {"cmd": st.sampled_from(["sleep 1000", ""]), "args": st.lists(st.just("x"), max_size=1),
           "instances": st.sampled_from([0, 1, 2, 1.5, -1]), "cpus": st.sampled_from([0.001, 0.1, 1, 0, 0.0001]),
           "mem": st.sampled_from([0, 16, 128, -1]), "disk": st.sampled_from([0, 10]),
           "labels": st.dictionaries(st.sampled_from(["HAPROXY_GROUP", "v", "a"]), st.sampled_from(["external", "1"]), max_size=2),
           "portDefinitions": st.lists(PORT_DEF, max_size=3), "requirePorts": st.booleans(),
           "acceptedResourceRoles": st.lists(st.sampled_from(["*", "slave_public", "other"]), max_size=2),
           "constraints": st.lists(CONSTRAINT, max_size=2), "container": CONTAINER,
           "networks": st.lists(obj({"mode": st.sampled_from(["host", "container", "container/bridge", "bridge"])}), max_size=1)})

# --- Edge-LB pools -------------------------------------------------------------------------------
BACKEND_NAMES = st.sampled_from(["kubernetes-apiserver", "other", ""])
SERVICE = obj({"endpoint": obj({}, {"portName": st.sampled_from(["apiserver", ""]), "port": PORTS,
                                     "type": st.sampled_from(["AUTO_IP", "ADDRESS", "CONTAINER_IP"]),
                                     "address": st.sampled_from(["10.0.0.7", ""]), "allPorts": st.booleans()})},
              {"mesos": obj({}, {"frameworkName": st.sampled_from(["kubernetes", ""]),
                                 "taskNamePattern": st.sampled_from(["kube-apiserver", ""])}),
               "marathon": obj({}, {"serviceID": st.sampled_from(["/dev/worker", ""])})})
BACKEND = obj({"name": BACKEND_NAMES, "protocol": st.sampled_from(["HTTP", "HTTPS", "TCP", "TLS", "UDP"]),
               "services": st.lists(SERVICE, max_size=2)},
              {"balance": st.sampled_from(["roundrobin", "leastconn"])})
FRONTEND = obj({"bindPort": PORTS, "protocol": st.sampled_from(["HTTP", "HTTPS", "TCP", "TLS", "QUIC"])},
               {"certificates": st.lists(st.sampled_from(["$AUTOCERT", "$SECRETS/mycert", "/etc/cert.pem"]), max_size=2),
                "linkBackend": obj({"defaultBackend": BACKEND_NAMES},
                                   {"map": st.lists(obj({"backend": BACKEND_NAMES}, {"hostEq": st.just("a.example.com")}), max_size=1)}),
                "bindAddress": st.just("0.0.0.0")})
POOL = obj({"name": st.sampled_from(["kubectl-proxy", "pool-a", "Bad_Pool", ""]),
            "haproxy": obj({"frontends": st.lists(FRONTEND, max_size=2), "backends": st.lists(BACKEND, max_size=2)},
                           {"stats": obj({}, {"bindPort": PORTS, "bindAddress": st.just("127.0.0.1")})})},
           {"apiVersion": st.sampled_from(["V2", "V1"]), "count": st.sampled_from([0, 1, 2, -1, 1.5]),
            "autoCertificate": st.booleans(), "namespace": st.sampled_from(["dcos-edgelb/pools", "Bad/NS"]),
            "ports": st.lists(PORTS, max_size=2)})
