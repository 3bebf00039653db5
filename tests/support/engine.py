"""The real Pulumi engine, offline: where `make setup` built it and the settings it runs with.

Everything that drives the engine from Python (tests, benchmarks, the demo) goes through here,
so the offline settings live in one place, mirrored by ``scripts/pulumi`` for the shell.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = PROJECT_ROOT / "scripts" / "versions.env"

#: Settings that keep the CLI off the network: no update check, no plugin downloads, no
#: registry look-ups. Applied by every entry point rather than left to the user's shell.
OFFLINE_SETTINGS = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
}


def pinned_versions() -> dict[str, str]:
    """The engine versions pinned in ``scripts/versions.env`` (KEY=value lines)."""
    versions = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            versions[key] = value
    return versions


def cache_dir() -> Path:
    """The toolchain cache outside the repository (same rule as the shell scripts)."""
    if os.environ.get("KEXPOSE_CACHE"):
        return Path(os.environ["KEXPOSE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kexpose"


def engine_root() -> Path:
    """Directory whose ``bin/`` holds pulumi, the language host and the dynamic-provider plugin."""
    return cache_dir() / "engine" / f"pulumi-v{pinned_versions()['PULUMI_VERSION']}"


@dataclass(frozen=True)
class EngineEnv:
    """Environment for one engine invocation: a file backend and a secrets passphrase."""

    backend_dir: Path
    passphrase: str
    pulumi_home: Path | None = None

    def as_env(self) -> dict[str, str]:
        env = dict(OFFLINE_SETTINGS)
        env["PULUMI_BACKEND_URL"] = f"file://{self.backend_dir}"
        env["PULUMI_CONFIG_PASSPHRASE"] = self.passphrase
        # Dynamic providers started for inline programs get no runtime options, so tell the
        # plugin script which python to use (the venv's) and where the project's modules are.
        env["PULUMI_PYTHON_CMD"] = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        if self.pulumi_home is not None:
            env["PULUMI_HOME"] = str(self.pulumi_home)
        return env


@functools.cache
def pulumi_command() -> auto.PulumiCommand:
    """The Automation API's handle on the CLI kexpose built (its version check must pass). One per
    process: making one runs ``pulumi version``, and every stack of a test run uses the same CLI."""
    return auto.PulumiCommand(root=str(engine_root()))


def workspace_options(engine_env: EngineEnv, **kwargs) -> auto.LocalWorkspaceOptions:
    """LocalWorkspaceOptions wired to the built CLI and the offline environment."""
    env = engine_env.as_env()
    env.update(kwargs.pop("env_vars", None) or {})
    return auto.LocalWorkspaceOptions(pulumi_command=pulumi_command(), env_vars=env, **kwargs)



class _StaleResult(RuntimeError):
    """A lazily fetched result read after a later operation changed what it would show."""


class _Deferred:
    """One bookkeeping read of a stack (its outputs, its last update's summary), run on first use.

    Reading it after a later ``up``/``refresh``/``destroy`` of the same stack raises instead of
    showing the newer state: a result always describes the operation that returned it."""

    def __init__(self, stack: "Stack", fetch: Callable[[], Any]):
        self._stack, self._fetch, self._generation = stack, fetch, stack.generation
        self._value: Any = _UNSET

    def get(self) -> Any:
        if self._value is _UNSET:
            if self._stack.generation != self._generation:
                raise _StaleResult("this result was read after a later operation on its stack; read it first")
            self._value = self._fetch()
        return self._value


_UNSET = object()


class LazyOutputs(Mapping[str, auto.OutputValue]):
    """An ``UpResult.outputs`` that runs ``pulumi stack output`` (twice) when first read."""

    def __init__(self, deferred: _Deferred):
        self._deferred = deferred

    def __getitem__(self, key: str) -> auto.OutputValue:
        return self._deferred.get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._deferred.get())

    def __len__(self) -> int:
        return len(self._deferred.get())

    def __repr__(self) -> str:
        return repr(self._deferred.get())


class LazySummary:
    """A result's ``summary`` that runs ``pulumi stack history`` when first read."""

    def __init__(self, deferred: _Deferred):
        self._deferred = deferred

    def __getattr__(self, item: str) -> Any:
        return getattr(self._deferred.get(), item)

    def __repr__(self) -> str:
        return repr(self._deferred.get())


class Stack(auto.Stack):
    """The Automation API's stack, with the result bookkeeping done only when a test reads it.

    After every ``up`` the SDK runs ``pulumi stack output`` twice and ``pulumi stack history
    --show-secrets`` (after ``refresh``/``destroy``, the history): three more CLI processes, about
    1 s of CPU, two of them deriving the passphrase key (PBKDF2, 1,000,000 rounds) again. Most
    tests never look at those results. Here they are fetched, by the SDK's own code, on first read;
    ``tests/engine/test_smoke.py`` keeps the SDK's eager path covered."""

    def __init__(self, name: str, workspace: auto.LocalWorkspace):
        self.generation = 0
        self._deferring = False
        super().__init__(name, workspace, StackInitMode.CREATE)

    def outputs(self) -> auto.OutputMap:
        if self._deferring:
            return LazyOutputs(_Deferred(self, super().outputs))  # type: ignore[return-value]
        return super().outputs()

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        if self._deferring:
            return LazySummary(_Deferred(self, lambda: super(Stack, self).info(show_secrets)))  # type: ignore[return-value]
        return super().info(show_secrets)

    def _deferred(self, operation: Callable[..., T], **kwargs) -> T:
        self.generation += 1
        self._deferring = True
        try:
            return operation(**kwargs)
        finally:
            self._deferring = False

    def up(self, **kwargs) -> auto.UpResult:
        return self._deferred(super().up, **kwargs)

    def refresh(self, **kwargs) -> auto.RefreshResult:
        return self._deferred(super().refresh, **kwargs)

    def destroy(self, **kwargs) -> auto.DestroyResult:
        return self._deferred(super().destroy, **kwargs)


def create_stack(name: str, opts: auto.LocalWorkspaceOptions, *, work_dir: Path | None = None,
                 program: Callable[[], None] | None = None, project_name: str | None = None) -> Stack:
    """``auto.create_stack`` for a project directory (``work_dir``) or an inline ``program``."""
    if program is not None:
        opts.program = program
        opts.project_settings = opts.project_settings or auto.ProjectSettings(
            name=project_name or "kexpose-test", runtime="python", main=os.getcwd())
    else:
        opts.work_dir = str(work_dir)
    return Stack(name, auto.LocalWorkspace(**opts.__dict__))
