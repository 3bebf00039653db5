"""Stack config validation (every problem names the key and a fix) and the naming rules."""

from __future__ import annotations

import pytest
import yaml

from kexpose_components import naming
from kexpose_components.config import ConfigError, parse
from kexpose_components.kubeconfig import KubeEntry, entries_to_config, merge

GOOD = {
    "dcos": {"url": "https://dcos.example.com", "uid": "kexpose"},
    "clusters": [{"service": "kubernetes"}, {"service": "dev/kubernetes01", "domain": "devkubernetes01.example.com"}],
    "exposures": [{"name": "mlb", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443, "agents": ["10.0.0.7"]}],
}


def problems(raw: dict, secrets: set[str] = frozenset({"dcosPassword"})) -> str:
    with pytest.raises(ConfigError) as err:
        parse(raw, set(secrets))
    return str(err.value)


def test_good_config_parses():
    settings = parse(GOOD, {"dcosPassword"})
    assert settings.auth == "password" and settings.exposures[0].port == 6443
    assert settings.cluster("dev/kubernetes01").domain == "devkubernetes01.example.com"


@pytest.mark.parametrize("change,expected", [
    ({"dcos": {}}, "kexpose:dcos.url: is required: the DC/OS cluster URL, e.g. https://dcos.example.com"),
    ({"dcos": {"url": "http://dcos.example.com"}}, "kexpose:dcos.url: uses plain http to a remote host"),
    ({"clusters": [{"service": "Dev_K8s"}]}, 'kexpose:clusters[0].service: must be a DC/OS service name, e.g. "kubernetes"'),
    ({"clusters": [{"service": "kubernetes", "domain": "not a domain"}]}, "kexpose:clusters[0].domain:"),
    ({"exposures": [{"name": "x", "method": "nginx", "clusters": ["kubernetes"], "port": 1, "agents": ["a"]}]},
     'kexpose:exposures[0].method: must be one of haproxy, marathon-lb, edge-lb'),
    ({"exposures": [{"name": "x", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 10100, "agents": ["a"]}]},
     "kexpose:exposures[0].port: 10100 is taken by Marathon-LB itself"),
    ({"exposures": [{"name": "x", "method": "edge-lb", "clusters": ["nope"], "port": 6443, "agents": ["a"]}]},
     "kexpose:exposures[0].clusters: 'nope' is not in kexpose:clusters"),
    ({"exposures": [{"name": "x", "method": "haproxy", "mode": "trusted", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"]}]},
     "trusted mode routes by domain (SNI): set kexpose:clusters[…].domain for kubernetes"),
    ({"exposures": [{"name": "x", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"]}]},
     "kexpose:exposures[0].ssh.privateKeyFile: is required"),
    ({"exposures": [{"name": "x", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"],
                     "timeouts": {"client": "forever"}}]}, "kexpose:exposures[0].timeouts.client: 'forever' is not a duration"),
    ({"exposures": [{"name": "x", "method": "marathon-lb", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"], "prot": 1}]},
     "kexpose:exposures[0].prot: is not a known key"),
    ({"exposures": [{"name": "x", "method": "edge-lb", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"],
                     "secretsPath": "team/k8s"}]},
     "kexpose:exposures[0].secretsPath: only used with mode: trusted (this exposure is mode: quick)"),
    ({"exposures": [{"name": "x", "method": "edge-lb", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"],
                     "renewBeforeDays": 10}]},
     "kexpose:exposures[0].renewBeforeDays: only used with mode: trusted"),
    ({"exposures": [{"name": "x", "method": "edge-lb", "mode": "fast", "clusters": ["kubernetes"], "port": 6443,
                     "agents": ["a"]}]}, "kexpose:exposures[0].mode: must be one of 'quick' or 'trusted'"),
])
def test_problems_name_the_key_and_a_fix(change, expected):
    assert expected in problems({**GOOD, **change})


def test_all_problems_are_reported_at_once_and_uid_is_needed_for_a_password():
    text = problems({"dcos": {"url": "https://dcos.example.com"}, "clusters": [], "exposures": []})
    assert "kexpose:dcos.uid" in text and "kexpose:clusters:" in text and "kexpose:exposures:" in text


def test_same_port_on_same_agent_twice_is_refused():
    exposures = [dict(GOOD["exposures"][0]), dict(GOOD["exposures"][0], name="other", method="edge-lb")]
    assert "6443 on 10.0.0.7 is already used by exposure 'mlb'" in problems({**GOOD, "exposures": exposures})


def test_naming_rules():
    assert naming.vip("dev/kubernetes01") == "apiserver.devkubernetes01.l4lb.thisdcos.directory:6443"
    assert naming.vip_host("/kubernetes/") == "apiserver.kubernetes.l4lb.thisdcos.directory"
    assert naming.control_plane_task("dev/kubernetes01") == "dev.kubernetes01__kube-control-plane-0-instance"
    assert naming.context_name("https://kube-apiserver.example.com:6443") == "kube-apiserver-example-com6443"
    assert naming.context_name("https://10.0.0.7:7443") == "10-0-0-77443"  # same rule, host then port


def test_kubeconfig_merge_keeps_other_entries_and_current_context():
    existing = entries_to_config([KubeEntry("mine", "https://other:6443", None)])
    new = entries_to_config([KubeEntry("kexpose-a", "https://10.0.0.7:6443", "CA PEM", "a.example.com")])
    merged = merge(existing, new, activate=None)
    assert [c["name"] for c in merged["contexts"]] == ["mine", "kexpose-a"]
    assert merged["current-context"] == "mine"
    cluster = merged["clusters"][1]["cluster"]
    assert cluster["tls-server-name"] == "a.example.com" and "certificate-authority-data" in cluster
    assert merge(existing, new, activate="kexpose-a")["current-context"] == "kexpose-a"


STANDALONE = {"name": "x", "method": "haproxy", "mode": "quick", "clusters": ["kubernetes"], "port": 6443, "agents": ["a"]}


@pytest.mark.parametrize("change,expected", [
    ({"exposures": [dict(STANDALONE, group="external")]},
     "kexpose:exposures[0].group: is not a known key for method haproxy"),
    ({"exposures": [dict(GOOD["exposures"][0], insecureBackend=True)]},
     "kexpose:exposures[0].insecureBackend: is not a known key for method marathon-lb"),
    ({"kubeconfg": {"path": "~/.kube/config"}}, "kexpose:kubeconfg: is not a known key; did you mean 'kubeconfig'?"),
    ({"exposures": [dict(STANDALONE, ssh={"privateKeyFile": "/nonexistent/id", "knownHostsFile": "/nonexistent/kh"})]},
     "kexpose:exposures[0].ssh.privateKeyFile: file not found: /nonexistent/id"),
    ({"exposures": [dict(GOOD["exposures"][0], method=None)]}, "kexpose:exposures[0].method: must be one of haproxy"),
    ({"exposures": [dict(STANDALONE, stats={"port": 6443}, ssh={"privateKeyFile": "/etc/hostname", "knownHostsFile": "/etc/hostname"})]},
     "kexpose:exposures[0].stats.port: must differ from port"),
])
def test_keys_of_another_method_unknown_keys_and_missing_files_are_named(change, expected):
    assert expected in problems({**GOOD, **change})


def test_missing_credentials_are_a_config_error_naming_the_keys_and_an_open_cluster_is_explicit():
    text = problems(GOOD, secrets=set())
    assert "kexpose:dcosPassword: is required to log in" in text and "dcosToken" in text and "dcos.auth: none" in text
    open_cluster = parse({**GOOD, "dcos": {"url": "http://127.0.0.1:18080", "auth": "none"}}, set())
    assert open_cluster.auth == "none"
    assert "is set, but dcos.auth is none" in problems({**GOOD, "dcos": {"url": "https://d.example.com", "auth": "none"}},
                                                       secrets={"dcosToken"})


def test_each_method_parses_to_its_own_settings_type():
    from kexpose_components.config import EdgeLbSettings, HaproxySettings, MarathonLbSettings

    exposures = [GOOD["exposures"][0], dict(GOOD["exposures"][0], name="elb", method="edge-lb", port=7443)]
    settings = parse({**GOOD, "exposures": exposures}, {"dcosToken"})
    assert [type(e) for e in settings.exposures] == [MarathonLbSettings, EdgeLbSettings]
    assert settings.exposures[1].stats_port == 7444 and settings.auth == "token"
    assert not hasattr(settings.exposures[0], "mode") and HaproxySettings.model_fields["mode"].default == "trusted"


def test_kubeconfig_never_activates_unless_asked_and_removes_only_its_own_entries(tmp_path):
    from kexpose_components.kubeconfig import remove_entries, write_merged

    path = tmp_path / "new" / "config"
    new = entries_to_config([KubeEntry("kexpose-a", "https://10.0.0.7:6443", "CA PEM")])
    write_merged(str(path), new, activate=None)
    assert yaml.safe_load(path.read_text())["current-context"] == ""  # a new file: still not switched
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    mine = entries_to_config([KubeEntry("mine", "https://other:6443", None)])
    write_merged(str(path), mine, activate="mine")
    write_merged(str(path), entries_to_config([KubeEntry("kexpose-b", "https://10.0.0.7:7443", None)]), None,
                 drop={"kexpose-a"})  # renamed: the old entry goes
    doc = yaml.safe_load(path.read_text())
    assert [c["name"] for c in doc["contexts"]] == ["mine", "kexpose-b"] and doc["current-context"] == "mine"
    remove_entries(str(path), {"kexpose-b"})
    doc = yaml.safe_load(path.read_text())
    assert [c["name"] for c in doc["contexts"]] == ["mine"] and [u["name"] for u in doc["users"]] == ["mine"]
