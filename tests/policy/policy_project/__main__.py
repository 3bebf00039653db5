"""kexpose's resources as its exposures build them, clean or violating every rule of the policy
pack (config ``violating``). Only ever previewed: nothing here talks to DC/OS during a preview."""

import pulumi

from kexpose_components.config import EdgeLbSettings, MarathonLbSettings, TimeoutSettings
from kexpose_components.exposures.edge_lb import edgelb_pool
from kexpose_components.exposures.marathon_lb import marathon_lb_app
from kexpose_components.haproxy.model import HaproxyModel, Route
from kexpose_components.resources.certificate import ProvidedCertificate, SelfSignedWildcard
from kexpose_components.resources.edgelb_pool import EdgeLBPool
from kexpose_components.resources.haproxy_config import HaproxyConfig
from kexpose_components.resources.marathon_app import MarathonApp

config = pulumi.Config()
bad = config.require_bool("violating")
connection = {"url": "http://dcos.example.com" if bad else "https://dcos.example.com", "uid": "kexpose",
              "password": config.require_secret("dcosPassword"), "verify": not bad}
timeouts = TimeoutSettings(tunnel="30m" if bad else "86400s")
mlb = MarathonLbSettings(name="mlb", clusters=("kubernetes",), port=8443, agents=("10.0.0.7",),
                         verify_backend=not bad, timeouts=timeouts)
MarathonApp("mlb-app", connection=connection, app=marathon_lb_app(mlb, "kubernetes"))
elb = EdgeLbSettings(name="elb", clusters=("kubernetes",), port=9443, stats_port=9444, agents=("10.0.0.7",),
                     stats_bind_address="0.0.0.0" if bad else "127.0.0.1", timeouts=timeouts)
EdgeLBPool("elb-pool", connection=connection, pool=edgelb_pool(elb, "kubernetes"))
SelfSignedWildcard("quick-cert", validity_days=7 if bad else 365)
ProvidedCertificate("corp-cert", cert_pem=config.require("certPem"), key_pem=config.require_secret("keyPem"))
route = Route(backend="backend_kubernetes", vip="apiserver.kubernetes.l4lb.thisdcos.directory:6443",
              ca_file=None if bad else "kubernetes-ca.pem")
model = HaproxyModel(name="quick", config_dir="/haproxy", certificates=("haproxy.pem",), routes=(route,),
                     default_backend=route.backend, timeouts=timeouts.haproxy())
HaproxyConfig("quick-config", model, files={})
