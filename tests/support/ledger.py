"""The reliability suite's ledger: what its tests counted (fault-matrix cases, hypothesis examples,
secrets-scan results) and noted, printed as one section at the end of the run.

Tests run in xdist workers, the summary is printed by the controlling process: each worker hands
its counts over when it finishes (``workeroutput``), and the controller adds them up. The hooks
are registered by ``tests/conftest.py``, which the controller loads too.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

FULL = os.environ.get("KEXPOSE_FULL_RELIABILITY") == "1"
LEDGER: Counter = Counter()
NOTES: list[str] = []


def pytest_sessionfinish(session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a worker: hand the counts to the controller
        workeroutput["kexpose_ledger"] = dict(LEDGER)
        workeroutput["kexpose_notes"] = list(NOTES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    output = getattr(node, "workeroutput", {}) or {}
    LEDGER.update(output.get("kexpose_ledger", {}))
    NOTES.extend(output.get("kexpose_notes", []))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not LEDGER and not NOTES:
        return
    tr = terminalreporter
    tr.section("kexpose reliability")
    seed = config.getoption("hypothesis_seed", None)
    tr.write_line(f"hypothesis: {'seed ' + str(seed) if seed is not None else 'random seed'}"
                  if FULL else "hypothesis: derandomized (KEXPOSE_FULL_RELIABILITY=1 explores new examples)")
    ran, conv = LEDGER["matrix: ran"], LEDGER["matrix: converged"]
    tr.write_line(f"fault matrix: {ran} case(s) ran, {conv} converged"
                  f"{'' if FULL else ' (quick subset; KEXPOSE_FULL_RELIABILITY=1 for all)'}")
    for key in sorted(LEDGER):
        if not key.startswith("matrix: "):
            tr.write_line(f"{key}: {LEDGER[key]}")
    for note in sorted(NOTES):
        tr.write_line(f"note: {note}")
