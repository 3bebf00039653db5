"""A dynamic resource that reports the provider host it ran in: its pid, its parent's command line,
its working directory and one environment variable. The warm-host tests read it to tell a host the
server forked (parent: ``kexpose_host_server.py``) from a cold one (parent: the plugin's script)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

MARK = "KEXPOSE_TEST_HOST_MARK"


def probe() -> dict[str, Any]:
    parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return {"pid": os.getpid(), "ppid": os.getppid(), "parent": parent, "cwd": os.getcwd(),
            "mark": os.environ.get(MARK, "")}


class HostProbeProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("probe", {**props, **probe()})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("run") != news.get("run"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({**news, **probe()})


class HostProbe(Resource, module="test", name="HostProbe"):
    pid: pulumi.Output[int]
    ppid: pulumi.Output[int]
    parent: pulumi.Output[str]
    cwd: pulumi.Output[str]
    mark: pulumi.Output[str]

    def __init__(self, name: str, run: str):
        super().__init__(HostProbeProvider(), name, {"run": run, "pid": None, "ppid": None, "parent": None,
                                                     "cwd": None, "mark": None})
