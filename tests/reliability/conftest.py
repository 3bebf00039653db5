"""Reliability suite fixtures: the real engine and simulator fixtures, the ledger the tests count
into (``tests/support/ledger.py`` prints it at the end), and a per-test secrets scan of every
stack a test creates."""

from __future__ import annotations

import socket
import uuid

import pytest
from hypothesis import settings
from pulumi import automation as auto

from tests.providers.conftest import StackDriver, stack_factory  # noqa: F401  (fixtures)
from tests.sim.conftest import RunningSim, sim, sim_factory, sim_process  # noqa: F401  (fixtures)

from tests.support.ledger import FULL, LEDGER, NOTES  # noqa: F401  (the tests count into them)

# `make test` draws the same examples every run (a red CI must not depend on the day's draw) and
# ignores the example database; `make reliability` explores new ones from the seed it prints (the
# Makefile passes --hypothesis-seed) and replays what earlier runs found.
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile("explore" if FULL else "deterministic")
if not FULL:
    # Hypothesis also draws literals found in every local module imported so far, so a
    # derandomized run would still generate other examples depending on which tests ran before
    # it (they import more modules). make test draws from Hypothesis' own constants only.
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants

    assert callable(_providers._get_local_constants), "hypothesis moved _get_local_constants: update this"
    _providers._get_local_constants = lambda: _Constants()

#: one distinctive password for the whole session: any plain-text hit is a leak
PASSWORD = f"s3cret-{uuid.uuid4()}"
USER = "kexpose"

SECRET_MARKERS = ("PRIVATE KEY",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Keeps every engine output a test saw, so the secrets scan can read it."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except auto.errors.CommandError as err:
            self.texts.append(str(err))
            raise
        for attr in ("stdout", "stderr"):
            self.texts.append(str(getattr(result, attr, "") or ""))
        return result


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _scan(texts: dict[str, str], secrets: list[str]) -> list[str]:
    leaks = []
    for where, text in texts.items():
        for s in secrets:
            if s and s in text:
                leaks.append(f"{where}: contains {s[:8]}…")
        for marker in SECRET_MARKERS:
            if marker in text:
                leaks.append(f"{where}: contains {marker!r}")
    return leaks


@pytest.fixture
def scanned_stacks(stack_factory, recorder, request):  # noqa: F811
    """``stack_factory`` whose stacks are scanned for secrets when the test ends."""
    stacks: list[StackDriver] = []
    extra_secrets: list[str] = []

    def make(program, name: str = "test") -> StackDriver:
        driver = stack_factory(program, name)
        stacks.append(driver)
        return driver

    make.extra_secrets = extra_secrets
    yield make
    texts: dict[str, str] = {}
    for i, driver in enumerate(stacks):
        try:
            texts[f"stack {driver.stack.name}: state on disk"] = driver.raw_state()
            texts[f"stack {driver.stack.name}: pulumi stack export"] = driver.plain_export()
        except Exception as err:  # noqa: BLE001 - a stack that was never deployed has no export
            NOTES.append(f"{request.node.name}: could not export {driver.stack.name}: {err}")
    for i, text in enumerate(recorder.texts):
        texts[f"engine output #{i}"] = text
    leaks = _scan(texts, [PASSWORD, *extra_secrets])
    LEDGER["secrets: stacks scanned"] += len(stacks)
    LEDGER["secrets: texts scanned"] += len(texts)
    LEDGER["secrets: leaks"] += len(leaks)
    assert not leaks, f"secrets in plain text: {leaks}"
