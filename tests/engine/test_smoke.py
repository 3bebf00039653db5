"""The real Pulumi engine, offline: preview/up/refresh/destroy of a dynamic resource.

Runs the CLI that `make setup` built, against a throwaway file backend; the program runs both
through the language host (a work_dir project, like `pulumi up` in a shell) and inline.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pulumi import automation as auto

from tests.support.engine import PROJECT_ROOT, create_stack, engine_root, pinned_versions, workspace_options

SMOKE_PROJECT = Path(__file__).parent / "smoke_project"
OUTSIDE_PROJECT = Path(__file__).parent / "outside_project"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _copy_project(dest: Path, source: Path = SMOKE_PROJECT) -> Path:
    """Copy a test project out of the repo (stack config files are written beside it)."""
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
    yaml = dest / "Pulumi.yaml"
    yaml.write_text(yaml.read_text().replace("../../../.venv", str(PROJECT_ROOT / ".venv")))
    return dest


def test_cli_version_matches_python_sdk():
    out = subprocess.run([str(PROJECT_ROOT / ".venv/bin/pulumi"), "version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"v{pinned_versions()['PULUMI_VERSION']}"
    assert out.stdout.strip() == f"v{importlib.metadata.version('pulumi')}"


def test_lifecycle_through_language_host(tmp_path, engine_env):
    project = _copy_project(tmp_path / "project")
    notes = tmp_path / "notes"
    notes.mkdir()
    stack = auto.create_stack("smoke", work_dir=str(project), opts=workspace_options(engine_env))
    stack.set_config("directory", auto.ConfigValue(str(notes)))
    stack.set_config("text", auto.ConfigValue("hello"))

    preview = stack.preview()
    assert preview.change_summary == {"create": 2}  # the stack itself and the Note
    assert not (notes / "greeting").exists()  # preview changed nothing

    up = stack.up()
    assert up.summary.result == "succeeded"
    assert (notes / "greeting").read_text() == "hello"
    assert up.outputs["sha256"].value == _sha("hello")

    stack.preview(expect_no_changes=True)  # raises if anything would change

    stack.set_config("text", auto.ConfigValue("world"))
    preview = stack.preview(diff=True)
    assert preview.change_summary == {"update": 1, "same": 1}
    assert re.search(r'text\s*:\s*"hello"\s*=>\s*"world"', preview.stdout), preview.stdout
    assert (notes / "greeting").read_text() == "hello"

    up = stack.up()
    assert up.summary.resource_changes == {"update": 1, "same": 1}
    assert (notes / "greeting").read_text() == "world"

    refresh = stack.refresh()
    assert refresh.summary.resource_changes == {"same": 2}

    (notes / "greeting").write_text("edited by hand")
    refresh = stack.refresh()
    assert refresh.summary.resource_changes.get("update") == 1  # drift found
    stack.up()
    assert (notes / "greeting").read_text() == "world"  # and reverted

    destroy = stack.destroy()
    assert destroy.summary.resource_changes == {"delete": 2}
    assert not (notes / "greeting").exists()
    assert stack.export_stack().deployment.get("resources", []) == []


def test_lifecycle_inline_program(tmp_path, engine_env):
    notes = tmp_path / "notes"
    notes.mkdir()

    def program():
        from note_provider import Note

        Note("inline", directory=str(notes), text="inline text")

    # The provider process must import note_provider too (pulumi#7960): put it on PYTHONPATH.
    opts = workspace_options(engine_env, env_vars={"PYTHONPATH": f"{SMOKE_PROJECT}:{PROJECT_ROOT}"})
    import sys

    sys.path.insert(0, str(SMOKE_PROJECT))
    try:
        stack = auto.create_stack("inline", project_name="kexpose-inline", program=program, opts=opts)
        assert stack.preview().change_summary == {"create": 2}
        stack.up()
        assert (notes / "inline").read_text() == "inline text"
        stack.preview(expect_no_changes=True)
        stack.destroy()
        assert not (notes / "inline").exists()
    finally:
        sys.path.remove(str(SMOKE_PROJECT))


def test_random_plugin_is_installed_at_the_pinned_version():
    out = subprocess.run([str(PROJECT_ROOT / ".venv/bin/pulumi"), "plugin", "ls", "--json"],
                         capture_output=True, text=True, check=True)
    plugins = {(p["kind"], p["name"]): p["version"] for p in json.loads(out.stdout)}
    pinned = pinned_versions()["PULUMI_RANDOM_VERSION"]
    assert plugins.get(("resource", "random")) == pinned
    assert importlib.metadata.version("pulumi-random") == pinned  # the SDK asks for exactly this plugin


def _random_password_program():
    import pulumi
    import pulumi_random

    pw = pulumi_random.RandomPassword("pw", length=pulumi.Config().require_int("length"))
    pulumi.export("password", pw.result)


def test_random_password(tmp_path, engine_env):
    stack = auto.create_stack("random", project_name="kexpose-random", program=_random_password_program,
                              opts=workspace_options(engine_env))
    stack.set_config("length", auto.ConfigValue("24"))
    assert stack.preview().change_summary == {"create": 2}

    first = stack.up().outputs["password"]
    assert first.secret and len(first.value) == 24
    on_disk = [p.read_text() for p in engine_env.backend_dir.rglob("*.json*") if p.is_file()]
    assert on_disk and not any(first.value in text for text in on_disk)  # stored encrypted only
    stack.preview(expect_no_changes=True)

    stack.set_config("length", auto.ConfigValue("32"))
    assert stack.preview().change_summary == {"replace": 1, "same": 1}
    up = stack.up()
    assert up.summary.resource_changes == {"replace": 1, "same": 1}
    second = up.outputs["password"]
    assert second.secret and len(second.value) == 32 and second.value != first.value

    assert stack.destroy().summary.resource_changes == {"delete": 2}


def test_the_test_stacks_deferred_results_are_the_sdks_and_never_stale(engine_env):
    """tests.support.engine.Stack, which the other suites use, fetches outputs and the summary
    on first read: the same values the SDK's eager path gives, and an error, not newer values,
    when a result is read after a later operation."""
    stack = create_stack("deferred", workspace_options(engine_env), program=_random_password_program,
                         project_name="kexpose-random")
    stack.set_config("length", auto.ConfigValue("24"))
    first = stack.up()
    stack.set_config("length", auto.ConfigValue("32"))
    second = stack.up()
    with pytest.raises(RuntimeError, match="read after a later operation"):
        first.outputs["password"]
    assert second.summary.resource_changes == {"replace": 1, "same": 1}
    eager = stack.outputs()  # outside an operation, the SDK's own call
    assert {k: (v.value, v.secret) for k, v in second.outputs.items()} == {k: (v.value, v.secret) for k, v in eager.items()}
    assert second.outputs["password"].secret and len(second.outputs["password"].value) == 32
    assert stack.destroy().summary.resource_changes == {"delete": 2}


def test_outside_program_with_random_id_and_a_dynamic_resource(tmp_path, engine_env):
    """A program outside kexpose, run as a user would: `pulumi` on PATH from the venv, a fresh
    project directory, a dynamic provider defined in __main__ and a native random.RandomId."""
    project = _copy_project(tmp_path / "outside", OUTSIDE_PROJECT)
    notes = tmp_path / "notes"
    notes.mkdir()
    env = {**os.environ, **engine_env.as_env(), "PATH": f"{PROJECT_ROOT / '.venv/bin'}:{os.environ['PATH']}"}

    def pulumi(*args: str) -> str:
        out = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    pulumi("stack", "init", "outside")
    pulumi("config", "set", "directory", str(notes))
    pulumi("up", "--yes", "--skip-preview")
    suffix = json.loads(pulumi("stack", "output", "suffix", "--json"))
    assert re.fullmatch(r"[0-9a-f]{8}", suffix)
    assert (notes / f"note-{suffix}").read_text() == suffix
    pulumi("preview", "--expect-no-changes")
    pulumi("destroy", "--yes", "--skip-preview")
    assert list(notes.iterdir()) == []


def test_engine_binaries_live_outside_the_repository():
    root = engine_root().resolve()
    assert PROJECT_ROOT.resolve() not in root.parents
    for name in ("pulumi", "pulumi-language-python", "pulumi-language-python-exec", "pulumi-resource-pulumi-python"):
        assert (root / "bin" / name).stat().st_mode & 0o111, name
