"""How long a test waits for something that happens eventually (a process serving, a reload, a
cleanup). Generous on purpose: ``make test`` runs four workers on two cores, so a step that takes
a second alone can take ten under load. A wait that is itself the behaviour under test (Ctrl-C
ends a run "within seconds") keeps its own, tighter bound."""

import time
from typing import Callable, TypeVar

T = TypeVar("T")

EVENTUALLY = 30.0


def wait_for(condition: Callable[[], T], what: str, timeout: float = EVENTUALLY) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.05)
    return result
