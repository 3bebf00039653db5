"""The one place provider inputs are made plain: numbers, unknowns and secrets as the engine sends them."""

from __future__ import annotations

from pulumi.output import Unknown
from pulumi.runtime import rpc

from kexpose_components.resources.agent_files import AgentFilesInputs
from kexpose_components.resources.inputs import is_unknown, plain, whole
from kexpose_components.resources.marathon_app import MarathonAppInputs


def test_whole_floats_become_ints_at_any_depth_and_the_rest_is_kept():
    sent = {"port": 6443.0, "cpus": 0.1, "ok": True, "apps": [{"instances": 2.0, "labels": {"a": "1"}}], "none": None}
    got = plain(sent)
    assert got == {"port": 6443, "cpus": 0.1, "ok": True, "apps": [{"instances": 2, "labels": {"a": "1"}}], "none": None}
    assert type(got["port"]) is int and type(got["apps"][0]["instances"]) is int
    assert got["ok"] is True and type(got["cpus"]) is float


def test_secrets_are_unwrapped_and_unknowns_found_at_any_depth():
    assert plain({"key": rpc.wrap_rpc_secret("-----BEGIN PRIVATE KEY-----")}) == {"key": "-----BEGIN PRIVATE KEY-----"}
    assert plain(rpc.wrap_rpc_secret([1.0, 2.5])) == [1, 2.5]
    for unknown in (Unknown(), rpc.UNKNOWN, {"a": [1, Unknown()]}, [{"b": rpc.UNKNOWN}]):
        assert is_unknown(unknown)
    assert not is_unknown({"a": [1, "x", None, {"b": 2.0}]})


def test_whole_accepts_whole_numbers_only():
    assert [whole(v) for v in (6443, 6443.0, 0.5, True, "1", None)] == [6443, 6443, None, None, None, None]


def test_inputs_parse_fills_defaults_and_keeps_unknowns():
    inputs = MarathonAppInputs.parse({"app": {"id": "/a", "instances": 1.0}, "timeout": 30.0, "force": None})
    assert inputs.app == {"id": "/a", "instances": 1} and inputs.timeout == 30 and inputs.force is False
    assert inputs.adopt is False and inputs.live is None and inputs.known("app")
    preview = AgentFilesInputs.parse({"agents": [{"host": "10.0.0.7", "port": 22.0}], "files": Unknown()})
    assert preview.agents == [{"host": "10.0.0.7", "port": 22}] and preview.mode == "0644"
    assert preview.known("agents") and not preview.known("files") and not preview.known()
