"""Shared fixtures: every test that drives the engine gets its own file backend."""

from __future__ import annotations

# Imported up front: hypothesis' pytest plugin imports it lazily in the terminal summary, and on
# CPython 3.11.7, compiling it there (after the engine's gRPC threads ran) fails with "SystemError:
# AST constructor recursion depth mismatch", which aborts a run of tests that all passed.
import hypothesis  # noqa: F401

import pytest

from tests.support.engine import EngineEnv
from tests.support.ledger import pytest_sessionfinish, pytest_terminal_summary, pytest_testnodedown  # noqa: F401 (hooks)


@pytest.fixture
def engine_env(tmp_path) -> EngineEnv:
    """A throwaway file backend and passphrase for one test's stacks."""
    state = tmp_path / "state"
    state.mkdir()
    return EngineEnv(backend_dir=state, passphrase="kexpose-test")
