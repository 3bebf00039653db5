"""The real Pulumi engine, offline: where `make setup` built it and the settings it runs with.

Everything that drives the engine from Python (tests, benchmarks, the demo) goes through here,
so the offline settings live in one place, mirrored by ``scripts/pulumi`` for the shell.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pulumi import automation as auto

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

