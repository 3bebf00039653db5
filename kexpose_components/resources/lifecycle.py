"""The steps ``MarathonApp`` and ``EdgeLBPool`` share.

Create meets an object that may exist already: one with the same name that kexpose did not create
is taken over only when the user says ``adopt``; a create that cannot finish in time leaves
nothing behind (the new object is removed again), while an adopted one is left as the failed
change made it. A create interrupted by Ctrl-C is undone the same way, without waiting for the
removal to finish (the run is ending). Read (refresh) hands back the definition as found, in the shape the user wrote.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from pulumi.dynamic import ReadResult

from kexpose_components.cancellation import Interrupted

R = TypeVar("R")


def create_or_adopt(*, exists: bool, adopt: bool, taken: str, apply: Callable[[], R], timeout: type[Exception],
                    remove: Callable[[], object], removed: str, error: type[Exception]) -> R:
    """Run ``apply``; on ``timeout`` or :class:`Interrupted` remove what it created (``removed``
    says so) and raise ``error``.

    ``taken`` is the message when the object exists and ``adopt`` is not set.
    """
    if exists and not adopt:
        raise error(taken)
    try:
        return apply()
    except (timeout, Interrupted) as exc:
        if exists:
            raise error(str(exc)) from None
        try:
            remove()
        except Interrupted:
            pass  # the removal was sent; an interrupted run does not wait for it to finish
        raise error(f"{exc}. {removed}") from None


def read_back(id_: str, props: dict[str, Any], names: tuple[str, ...], inputs: dict[str, Any],
              outputs: dict[str, Any]) -> ReadResult:
    """A refresh's result: the recorded inputs ``names`` with ``inputs`` as read from the cluster
    (so the next preview shows the drift), and the state with ``outputs`` and those inputs."""
    refreshed = {**{k: props[k] for k in names if k in props}, **inputs}
    return ReadResult(id_, {**props, **outputs, **inputs}, refreshed)
