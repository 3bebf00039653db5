"""``HaproxyExposure``: the seeds' standalone-HAProxy method as one component.

quick: a self-signed wildcard certificate (``CN=*``, as the seeds' example 1, plus the
subjectAltName ``*.kexpose.internal``), one cluster, the backend verifying the apiserver against
the cluster CA (``verify none`` only with ``insecureBackend: true``); clients pin the certificate
as their CA and verify ``<service>.kexpose.internal`` (or the cluster's domain).
trusted: a CA and a certificate per domain (bundles of cert, key, chain — in that order), SNI
routing of every domain to its cluster on one port, CA-verified backends; clients verify the
chain against the CA (the kubeconfig carries it), as in example 2.

Resources, in order: certificates -> HaproxyConfig (validated by haproxy -c during preview) ->
AgentFiles (config, bundles, CAs and the reloader to every public agent over SSH; haproxy.cfg,
which carries the revision, last) -> the HAProxy Marathon app (pinned to those agents; nothing
about the config is in it, so a config change leaves it alone) -> HaproxyReload (every agent
serves the new revision, reloaded in place) -> one ExposureProbe per cluster.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_random

from kexpose_components import naming
from kexpose_components.config import ClusterSettings, HaproxySettings, Mode
from kexpose_components.exposures.endpoint import Exposure, probed_endpoint
from kexpose_components.exposures.shared import SharedInputs, deployment_options
from kexpose_components.ownership import app_id_of, label_app
from kexpose_components.haproxy.app import standalone_app
from kexpose_components.haproxy.stats import STATS_FILE, STATS_USER, stats_section
from kexpose_components.haproxy.model import HaproxyModel, Route, render
from kexpose_components.haproxy.reload import RELOADER, RELOADER_FILE, revision
from kexpose_components.resources.agent_files import AgentFiles
from kexpose_components.exposures.trust import Issuer, Trust, trusted_certificate
from kexpose_components.resources.certificate import SelfSignedWildcard
from kexpose_components.resources.haproxy_config import HaproxyConfig
from kexpose_components.resources.haproxy_reload import HaproxyReload
from kexpose_components.resources.marathon_app import MarathonApp

CONTAINER_DIR = "/haproxy"


def _route(settings: HaproxySettings, cluster: ClusterSettings, domains: tuple[str, ...]) -> Route:
    ca_file = None if settings.insecure_backend else f"{naming.task_prefix(cluster.service)}-ca.pem"
    return Route(backend=f"backend_{naming.flat_name(cluster.service)}", vip=naming.vip(cluster.service),
                 domains=domains, ca_file=ca_file, verify_host=naming.vip_host(cluster.service) if ca_file else None)


class HaproxyExposure(Exposure):
    def __init__(self, settings: HaproxySettings, clusters: list[ClusterSettings], shared: SharedInputs,
                 opts: pulumi.ResourceOptions | None = None):
        name = settings.name
        super().__init__("kexpose:exposure:Haproxy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        files: dict[str, pulumi.Input[str]] = {}
        routes: list[Route] = []
        server_names: dict[str, str] = {}
        trust: dict[str, Trust] = {}  # service -> what its clients verify against
        issuer = Issuer(name, settings.issuing_ca, child)
        if settings.mode is Mode.QUICK:
            cluster = clusters[0]
            # Pinned by clients as their CA, for a name under the wildcard (or the cluster's domain).
            server_names[cluster.service] = cluster.domain or naming.quick_server_name(cluster.service)
            cert = SelfSignedWildcard(f"{name}-cert", domains=[f"*.{naming.QUICK_ZONE}", *filter(None, [cluster.domain])],
                                      renew_before_days=settings.renew_before_days, opts=child)
            trust[cluster.service] = Trust(cert.cert_pem)
            files["haproxy.pem"] = cert.bundle_pem
            routes.append(_route(settings, cluster, (cluster.domain,) if cluster.domain else ()))
            default_backend = routes[0].backend
        else:
            for cluster in clusters:
                flat = naming.flat_name(cluster.service)
                leaf, trust[cluster.service] = trusted_certificate(name, cluster, child, issuer, settings.renew_before_days)
                files[f"{flat}.pem"] = leaf.bundle_pem  # cert, key, chain — in that order
                routes.append(_route(settings, cluster, (cluster.domain,)))
            default_backend = None
        for route, cluster in zip(routes, clusters):
            if route.ca_file:
                files[route.ca_file] = shared.cluster_cas[cluster.service]
        model = HaproxyModel(
            name=name, config_dir=CONTAINER_DIR, port=settings.port,
            certificates=tuple(f for f in files if f.endswith(".pem") and not f.endswith("-ca.pem")),
            routes=tuple(routes), default_backend=default_backend, bind_options=settings.bind_options,
            timeouts=settings.timeouts.haproxy(),
        )
        self.config = HaproxyConfig(f"{name}-config", model, dict(files), opts=child)
        self.stats = self._stats(name, settings, files, child)
        files[RELOADER_FILE] = RELOADER
        # Rendered here as well as checked by the resource: the text and its revision are known at
        # preview, so a changed timeout previews as that line and that revision, not as [unknown].
        text = render(model)
        contents = pulumi.Output.all(**files)
        config_revision = pulumi.Output.unsecret(contents.apply(lambda f: revision(text, f)))
        ssh = settings.ssh
        self.files = AgentFiles(
            f"{name}-files",
            agents=[{"host": a, "port": ssh.port, "user": ssh.user} for a in settings.agents],
            ssh_private_key=pulumi.Output.secret(Path(ssh.private_key_file).read_text()),
            known_hosts=Path(ssh.known_hosts_file).read_text(),
            directory=settings.directory,
            files=contents.apply(lambda f: {**f, "haproxy.cfg": render(model, revision=revision(text, f))}),
            mode=0o600,
            last="haproxy.cfg",  # the reloader takes a new haproxy.cfg as a complete set
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.config]),  # only a config haproxy -c passed
        )
        app_id = app_id_of(settings)
        app = label_app(standalone_app(app_id, list(settings.agents), settings.directory, settings.port,
                                       container_dir=CONTAINER_DIR, image=settings.image), shared.owner)
        self.app = MarathonApp(f"{name}-app", connection=shared.connection, app=app, adopt=settings.adopt,
                               opts=deployment_options(settings, self, depends_on=[self.files],
                                                       **shared.takeover(settings, app_id)))
        self.reload = HaproxyReload(f"{name}-reload", connection=shared.connection, app_id=app_id,
                                    revision=config_revision, hosts=list(settings.agents), port=settings.port,
                                    opts=deployment_options(settings, self, depends_on=[self.app]))
        probe_opts = pulumi.ResourceOptions(parent=self, depends_on=[self.reload])
        self._register([probed_endpoint(f"{name}-{naming.flat_name(c.service)}-probe", settings, c,
                                        trust[c.service].ca_pem, config_revision, probe_opts, server_names.get(c.service),
                                        trust[c.service].system) for c in clusters])

    @staticmethod
    def _stats(name: str, settings: HaproxySettings, files: dict[str, pulumi.Input[str]],
               opts: pulumi.ResourceOptions) -> dict[str, pulumi.Input[str]] | None:
        """The stats page's file (added to ``files``) and how to reach it; its password comes from
        pulumi-random, so it is made once, kept secret in state, and never in the config text."""
        if settings.stats is None:
            return None
        s = settings.stats
        password = pulumi_random.RandomPassword(f"{name}-stats-password", length=24, special=False, opts=opts)
        files[STATS_FILE] = password.result.apply(lambda pw: stats_section(s.bind_address, s.port, pw))
        return {"url": f"http://{s.bind_address}:{s.port}/", "user": STATS_USER, "password": password.result}
