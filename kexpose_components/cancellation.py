"""Ctrl-C, as it reaches the provider calls that wait.

On the first SIGINT the engine stops starting new operations and sends ``Cancel`` to every
provider plugin, then waits for the operations in flight. Without this, a create waiting for a
deployment would keep the run alive until its timeout (600 s by default). kexpose's provider
host (``tools/provider-host``) hands ``Cancel`` to each loaded provider's ``cancel()``; every
kexpose provider inherits it (``resources/provider.py``) from :class:`Cancellable`, which sets one process-wide event. Each
wait in kexpose sleeps on that event, so it ends within a fraction of a second and the provider
undoes what it half-made (a new app is removed, an update is rolled back) before the run ends.
"""

from __future__ import annotations

import threading

from kexpose_components.errors import KexposeError

CANCELLED = threading.Event()


class Interrupted(KexposeError):
    """The run was interrupted (Ctrl-C) while kexpose waited for the cluster."""


class Cancellable:
    """Mixed into every kexpose dynamic provider: the provider host calls ``cancel()`` on Ctrl-C."""

    def cancel(self) -> None:
        CANCELLED.set()


def check(what: str) -> None:
    """Raise :class:`Interrupted` if the run was interrupted; ``what`` says what was being waited for."""
    if CANCELLED.is_set():
        raise Interrupted(f"interrupted (Ctrl-C) while waiting for {what}")


def sleep(seconds: float, what: str) -> None:
    """``time.sleep`` that ends early, raising :class:`Interrupted`, when the run is interrupted."""
    if CANCELLED.wait(max(0.0, seconds)):
        check(what)
