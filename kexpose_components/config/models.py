"""The stack config as types: one settings type per exposure method on a shared base, parsed as a
tagged union on ``method`` (so a key of another method is an unknown key, named as such).

Keys are camelCase in the stack file (``caBundleFile``) and snake_case in Python
(``ca_bundle_file``). Every model forbids unknown keys and is frozen: what the program reads is
exactly what was validated.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from kexpose_components.config.types import (AbsolutePath, AppId, DeploymentTimeout, Bool, Days, Domain, Duration, Host, Name, Port,
                                             SecretPath, Service, Text, existing_file, fix, port_type)
from kexpose_components.haproxy.app import DEFAULT_HOST_DIR, DEFAULT_IMAGE
from kexpose_components.timeouts import Timeouts

#: Ports Marathon-LB binds on its agents itself (HTTP, HTTPS, stats, and its service-port range).
MARATHON_LB_PORTS = frozenset({80, 443, 9090, 9091, *range(10000, 10151)})
MLB_CA_BUNDLE = "/mnt/mesos/sandbox/.ssl/ca-bundle.crt"


DcosCaFile = existing_file("the CA that signs Admin Router's certificate", "./dcos-ca.pem")
ClusterCaFile = existing_file("the cluster's CA PEM", "./kubernetes-ca.pem")
SshKeyFile = existing_file("the SSH private key for the agents", "~/.ssh/id_ed25519")
KnownHostsFile = existing_file("the agents' host keys", "~/.ssh/known_hosts")
SshPort = port_type(22)


class Settings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class DcosSettings(Settings):
    url: Annotated[str, Field(description="the DC/OS cluster URL, e.g. https://dcos.example.com")]
    uid: Text | None = None
    auth: Literal["login", "none"] = "login"  # none: an open cluster, no credentials sent
    verify: Bool = True
    ca_bundle_file: DcosCaFile | None = None
    marathon_path: Text = "/service/marathon"
    edgelb_path: Text = "/service/edgelb"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise fix("is required: the DC/OS cluster URL, e.g. https://dcos.example.com")
        return value.rstrip("/")


PemFile = existing_file("a PEM file", "./tls/devkubernetes01.crt")
KeyFile = existing_file("the private key (PEM)", "./tls/devkubernetes01.key")


class KeyRef(Settings):
    """Where a private key comes from: a file, or (for CI without key files) a secret config key
    set with ``pulumi config set --secret kexpose:<keySecret> "$(cat key.pem)"``."""

    key_file: KeyFile | None = None
    key_secret: Annotated[Text, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "KeyRef":
        if bool(self.key_file) == bool(self.key_secret):
            raise fix("give exactly one of keyFile (a PEM file) or keySecret (the name of a secret config key, "
                      'e.g. "devkubernetes01TlsKey")', key="keySecret")
        return self


class CertificateSettings(KeyRef):
    """The user's own certificate for a cluster's domain (cert, chain, key — the seeds' example 2)."""

    cert_file: Annotated[PemFile, Field(description='the certificate PEM file (a fullchain file is fine), e.g. "./tls/devkubernetes01.crt"')]
    chain_file: PemFile | None = None
    root_file: PemFile | None = None  # the root clients trust; none: the system trust store


class IssuingCaSettings(KeyRef):
    """The user's own CA, which issues trusted mode's per-domain certificates instead of a generated one."""

    cert_file: Annotated[PemFile, Field(description='the CA certificate PEM file, e.g. "./tls/company-ca.crt"')]


class ClusterSettings(Settings):
    service: Annotated[Service, Field(description='a DC/OS service name, e.g. "kubernetes"')]
    domain: Domain | None = None
    ca_source: Annotated[Literal["cluster", "file"], Field(alias="ca")] = "cluster"
    ca_file: ClusterCaFile | None = None
    certificate: CertificateSettings | None = None  # trusted mode: the user's own certificate for the domain

    @model_validator(mode="after")
    def _ca_file(self) -> "ClusterSettings":
        if self.certificate and not self.domain:
            raise fix("is required with a certificate: the name it is served for, e.g. \"devkubernetes01.example.com\"",
                      key="domain")
        if self.ca_source == "file" and not self.ca_file:
            raise fix("is required with ca: file: the cluster's CA PEM, e.g. ./kubernetes-ca.pem", key="caFile")
        return self


class SshSettings(Settings):
    user: Annotated[Text, Field(min_length=1)] = "core"
    port: SshPort = 22
    private_key_file: Annotated[SshKeyFile, Field(description='a file with the SSH private key for the agents, e.g. "~/.ssh/id_ed25519"')]
    known_hosts_file: Annotated[KnownHostsFile, Field(description='a file with the agents\' host keys (known_hosts), e.g. "~/.ssh/known_hosts"')]


class TimeoutSettings(Settings):
    """The timeouts a user may set; each lands where HAProxy honours it (see the README)."""

    connect: Duration = "10s"
    client: Duration = "86400s"
    server: Duration = "86400s"
    tunnel: Duration = "86400s"

    def haproxy(self) -> Timeouts:
        return Timeouts(**self.model_dump())


class KubeconfigSettings(Settings):
    path: Text | None = None
    activate: Bool = False


class ExposureBase(Settings):
    """What every method needs: a name, the clusters, where clients connect, and how they name it."""

    name: Annotated[Name, Field(description='lowercase letters, digits and "-", e.g. "public"')]
    clusters: Annotated[tuple[Service, ...], Field(min_length=1, description='the services this exposure serves, e.g. ["dev/kubernetes01"]')]
    port: Annotated[Port, Field(description="a whole number from 1 to 65535, e.g. 6443")]
    agents: Annotated[tuple[Host, ...], Field(min_length=1, description='the public agent(s) serving this exposure, e.g. ["10.0.0.7"]')]
    timeouts: TimeoutSettings = TimeoutSettings()
    context_name: Text | None = None
    url_host: Literal["domain", "agent"] = "domain"  # agent: the URL names the agent, kubeconfig sets tls-server-name
    adopt: Bool = False  # take over the existing app or pool (appId / poolName) in place
    deployment_timeout: DeploymentTimeout = "10m"  # how long a deployment may take before it is undone
    _key: str = PrivateAttr("kexpose:exposures[?]")

    @property
    def key(self) -> str:
        """``kexpose:exposures[<i>]``: how messages name this exposure's keys (set by StackSettings)."""
        return self._key


class SingleCluster(ExposureBase):
    """Marathon-LB exposes one cluster per exposure."""

    @field_validator("clusters")
    @classmethod
    def _one(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(value) > 1:
            raise fix("this method exposes one cluster per exposure; split it into one exposure each")
        return value


class StatsSettings(Settings):
    """HAProxy's stats page behind basic auth (user ``kexpose``, a generated password)."""

    port: Annotated[Port, Field(description="a whole number from 1 to 65535, e.g. 9000")]
    bind_address: Host = "127.0.0.1"  # a public address only on purpose


class Mode(str, Enum):
    """How clients trust an exposure. quick: one cluster behind a certificate nobody else signs
    (a self-signed wildcard kexpose pins in the kubeconfig, or Edge-LB's ``$AUTOCERT``); trusted:
    a certificate per cluster domain from a CA (the user's or one kexpose generates), several
    clusters on one port by SNI."""

    QUICK = "quick"
    TRUSTED = "trusted"


class TrustedModeSettings(ExposureBase):
    """What trusted mode adds, for every method that has it: the CA that issues the per-domain
    certificates (the user's own or a generated one) and their renewal window."""

    mode: Mode
    issuing_ca: IssuingCaSettings | None = None  # trusted mode: the user's CA instead of a generated one
    renew_before_days: Days = 30  # issued certificates are renewed once they expire within this many days
    #: keys that only mean something in trusted mode: set in quick mode, they are refused, not ignored
    TRUSTED_ONLY: ClassVar[tuple[str, ...]] = ("issuing_ca",)

    @model_validator(mode="after")
    def _quick_is_one_cluster(self) -> "TrustedModeSettings":
        if self.mode is Mode.QUICK and len(self.clusters) != 1:
            raise fix("quick mode exposes exactly one cluster; use mode: trusted for several behind SNI", key="clusters")
        for name in self.TRUSTED_ONLY if self.mode is Mode.QUICK else ():
            if name in self.model_fields_set:
                raise fix("only used with mode: trusted (this exposure is mode: quick); remove it or set mode: trusted",
                          key=to_camel(name))
        return self


class HaproxySettings(TrustedModeSettings):
    method: Literal["haproxy"] = "haproxy"
    app_id: AppId | None = None  # default /kexpose/<name>
    mode: Mode = Mode.TRUSTED
    directory: AbsolutePath = DEFAULT_HOST_DIR
    ssh: Annotated[SshSettings, Field(validate_default=True)] = {}  # type: ignore[assignment]  # missing keys are named
    insecure_backend: Bool = False
    image: Text = DEFAULT_IMAGE
    bind_options: Text = ""
    stats: StatsSettings | None = None  # off unless asked

    @model_validator(mode="after")
    def _stats_port(self) -> "HaproxySettings":
        if self.stats and self.stats.port == self.port:
            raise fix("must differ from port", key="stats.port")
        return self


class MarathonLbSettings(SingleCluster):
    method: Literal["marathon-lb"] = "marathon-lb"
    app_id: AppId | None = None  # default /kexpose/<name>
    group: Text = "external"
    verify_backend: Bool = True
    ca_bundle_path: Text = MLB_CA_BUNDLE

    @field_validator("port")
    @classmethod
    def _not_marathon_lb_own(cls, value: int) -> int:
        if value in MARATHON_LB_PORTS:
            raise fix(f"{value} is taken by Marathon-LB itself (80, 443, 9090, 9091, 10000-10150); use e.g. 6443")
        return value


class EdgeLbSettings(TrustedModeSettings):
    """quick: the seeds' ``$AUTOCERT`` pool, one cluster; trusted: a certificate per cluster domain
    stored as DC/OS secrets under ``secretsPath``, several clusters on one port by SNI."""

    method: Literal["edge-lb"] = "edge-lb"
    mode: Mode = Mode.QUICK
    secrets_path: SecretPath | None = None  # default kexpose/<name>
    #: quick mode is the seeds' $AUTOCERT pool: kexpose issues and stores nothing
    TRUSTED_ONLY: ClassVar[tuple[str, ...]] = ("issuing_ca", "secrets_path", "renew_before_days")
    pool_name: Text | None = None
    stats_port: Port | None = None  # default: port + 1
    stats_bind_address: Text = "127.0.0.1"

    @model_validator(mode="after")
    def _stats_port(self) -> "EdgeLbSettings":
        if self.stats_port is None:
            object.__setattr__(self, "stats_port", self.port + 1 if self.port < 65535 else self.port - 1)
        if self.stats_port == self.port:
            raise fix("must differ from port", key="statsPort")
        return self


METHOD_SETTINGS = (HaproxySettings, MarathonLbSettings, EdgeLbSettings)
#: The tagged union the stack file's ``method`` selects from.
ExposureSettings = Annotated[Union[METHOD_SETTINGS], Field(discriminator="method")]
METHODS = tuple(m.model_fields["method"].default for m in METHOD_SETTINGS)
#: method -> the mode an exposure of it has when the stack file names none
DEFAULT_MODES = {m.model_fields["method"].default: m.model_fields["mode"].default
                 for m in METHOD_SETTINGS if "mode" in m.model_fields}


Auth = Literal["token", "password", "service-account", "none"]


class StackSettings(Settings):
    dcos: Annotated[DcosSettings, Field(description='an object, e.g. {"url": "https://dcos.example.com", "uid": "kexpose"}')]
    clusters: Annotated[tuple[ClusterSettings, ...], Field(
        min_length=1, description='the Kubernetes services to expose, e.g. [{"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com"}]')]
    exposures: Annotated[tuple[ExposureSettings, ...], Field(
        min_length=1, description='at least one exposure, e.g. [{"name": "public", "method": "haproxy", "clusters": ["kubernetes"], "port": 6443, "agents": ["10.0.0.7"]}]')]
    kubeconfig: KubeconfigSettings = KubeconfigSettings()
    preflight: Bool = True  # read-only checks against the cluster at preview (see preflight.py)
    _auth: Auth = PrivateAttr("none")

    @property
    def auth(self) -> Auth:
        """How kexpose logs in: decided by which secret is set, never by a key in the file."""
        return self._auth

    @model_validator(mode="after")
    def _exposure_keys(self) -> "StackSettings":
        for i, exposure in enumerate(self.exposures):
            exposure._key = f"kexpose:exposures[{i}]"
        return self

    def cluster(self, service: str) -> ClusterSettings:
        return next(c for c in self.clusters if c.service == service)
