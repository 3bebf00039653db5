"""Shared fixtures: every test that drives the engine gets its own file backend."""

from __future__ import annotations

import pytest

from tests.support.engine import EngineEnv


@pytest.fixture
def engine_env(tmp_path) -> EngineEnv:
    """A throwaway file backend and passphrase for one test's stacks."""
    state = tmp_path / "state"
    state.mkdir()
    return EngineEnv(backend_dir=state, passphrase="kexpose-test")
