"""The standalone HAProxy's config: rendered from the model, checked by the real haproxy -c."""

from __future__ import annotations

import hashlib

import pytest

from kexpose_components import certs
from kexpose_components.haproxy.app import standalone_app
from kexpose_components.haproxy.reload import RELOADER
from kexpose_components.haproxy.model import HaproxyModel, HaproxyRejected, Route, check_config, model_problems, render
from kexpose_components.timeouts import Timeouts

VIP1 = "apiserver.devkubernetes01.l4lb.thisdcos.directory:6443"
VIP2 = "apiserver.devkubernetes02.l4lb.thisdcos.directory:6443"


def trusted_model(**kw) -> HaproxyModel:
    routes = (Route("backend_devkubernetes01", VIP1, ("devkubernetes01.example.com",), "dev.kubernetes01-ca.pem",
                    "apiserver.devkubernetes01.l4lb.thisdcos.directory"),
              Route("backend_devkubernetes02", VIP2, ("devkubernetes02.example.com",), "dev.kubernetes02-ca.pem"))
    return HaproxyModel(name="sni", config_dir="/haproxy", certificates=("devkubernetes01.pem", "devkubernetes02.pem"),
                        routes=routes, **kw)


def files_for(model: HaproxyModel) -> dict[str, str]:
    pair = certs.self_signed_wildcard(validity_days=2)
    files = {c: pair.cert_pem + pair.key_pem for c in model.certificates}
    files.update({r.ca_file: pair.cert_pem for r in model.routes if r.ca_file})
    return files


def test_trusted_config_has_sni_rules_verified_backends_and_frontend_timeouts():
    model = trusted_model()
    text = check_config(model, files_for(model))
    assert "bind :6443 ssl crt /haproxy/devkubernetes01.pem crt /haproxy/devkubernetes02.pem" in text
    assert "use_backend backend_devkubernetes01 if { ssl_fc_sni -i devkubernetes01.example.com }" in text
    assert (f"server kube-apiserver {VIP1} check ssl verify required ca-file /haproxy/dev.kubernetes01-ca.pem "
            "verifyhost apiserver.devkubernetes01.l4lb.thisdcos.directory") in text
    assert "balance leastconn" in text
    defaults = text.split("\ndefaults\n")[1].split("\nfrontend ")[0]
    assert "timeout client 86400s" in defaults and "timeout tunnel 86400s" in defaults
    backends = text.split("backend backend_devkubernetes01")[1]
    assert "timeout client" not in backends  # never where HAProxy ignores it
    assert "\n    debug" not in text and "\ndebug" not in text


def test_quick_mode_can_be_insecure_only_on_purpose():
    model = HaproxyModel(name="quick", config_dir="/haproxy", certificates=("haproxy.pem",),
                         routes=(Route("backend_kubernetes", VIP1),), default_backend="backend_kubernetes")
    text = check_config(model, files_for(model))
    assert "default_backend backend_kubernetes" in text and "verify none" in text


def test_invalid_option_is_rejected_with_haproxys_message():
    model = trusted_model(timeouts=Timeouts(client="86400s"))
    with pytest.raises(HaproxyRejected) as err:
        check_config(model, files_for(model), extra="\nlisten extra\n    bind :7000 no-such-bind-option\n")
    assert "unknown keyword 'no-such-bind-option'" in str(err.value)
    assert "/haproxy/haproxy.cfg" in str(err.value)  # scratch paths shown as the container's


def test_model_problems_name_the_field():
    bad = HaproxyModel(name="x", config_dir="haproxy", port=70000, timeouts=Timeouts(client="forever"),
                       routes=(Route("b", VIP1, ("a.example.com",)), Route("b", VIP2, ("a.example.com",))))
    fields = {f for f, _ in model_problems(bad)}
    assert {"port", "config_dir", "timeouts.client", "routes", "certificates"} <= fields


def test_rendering_is_deterministic():
    assert render(trusted_model()) == render(trusted_model())


def test_standalone_app_is_pinned_and_cannot_deadlock():
    app = standalone_app("/kexpose/sni", ["10.0.0.7", "10.0.0.8"], "/opt/kexpose/haproxy", 7443)
    assert app["instances"] == 2 and app["requirePorts"] and app["acceptedResourceRoles"] == ["slave_public"]
    assert ["hostname", "UNIQUE"] in app["constraints"]
    assert ["hostname", "LIKE", r"10\.0\.0\.7|10\.0\.0\.8"] in app["constraints"]
    assert app["upgradeStrategy"] == {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
    assert app["container"]["volumes"] == [{"containerPath": "/haproxy", "hostPath": "/opt/kexpose/haproxy", "mode": "RO"}]
    # nothing about the config: a config change leaves the app (and its tasks) alone; a new reloader restarts it
    assert app["cmd"] == "exec /bin/sh /haproxy/kexpose-reload.sh /haproxy"
    assert app["labels"]["KEXPOSE_RELOADER_SHA256"] == hashlib.sha256(RELOADER.encode()).hexdigest()
