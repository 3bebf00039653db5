"""Real-engine fixtures: inline Pulumi programs against an in-process simulator."""

from __future__ import annotations

import os
import subprocess
from typing import Callable, TypeVar

import pytest

from tests.support.engine import create_stack, engine_root, workspace_options
from tests.sim.conftest import sim, sim_factory  # noqa: F401  (fixtures)

T = TypeVar("T")


class StackDriver:
    """One stack whose program can be swapped between operations."""

    def __init__(self, name: str, engine_env, program: Callable[[], None]):
        self.engine_env = engine_env
        self._program = program
        self.stack = create_stack(name, workspace_options(engine_env), program=lambda: self._program(),
                                  project_name="kexpose-test")

    def set_program(self, program: Callable[[], None]) -> None:
        self._program = program

    def __getattr__(self, item):
        return getattr(self.stack, item)

    def raw_state(self) -> str:
        """Everything the backend stored (what a leak would leave on disk)."""
        return "".join(p.read_text(errors="replace") for p in self.engine_env.backend_dir.rglob("*") if p.is_file())

    def plain_export(self) -> str:
        """`pulumi stack export` as a user runs it (the Automation API's export shows secrets)."""
        out = subprocess.run([str(engine_root() / "bin" / "pulumi"), "stack", "export", "--stack", self.stack.name],
                             cwd=self.stack.workspace.work_dir, env={**os.environ, **self.engine_env.as_env()},
                             capture_output=True, text=True, check=True)
        return out.stdout


def throwaway(make_one: Callable[..., T]) -> Callable[..., T]:
    """A fixture's factory of stacks. They are not destroyed afterwards: each test has its own file
    backend (``engine_env``) and its own simulator, both thrown away with the test, and everything
    a stack makes lives in them (apps, pools, agent files, processes of the data plane). Tests that
    are about destroy run it themselves and assert what it leaves; a destroy at teardown would
    assert nothing and cost an engine run per stack."""
    return make_one


@pytest.fixture
def stack_factory(engine_env):
    return throwaway(lambda program, name="test": StackDriver(name, engine_env, program))
