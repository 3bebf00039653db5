"""The create step ``MarathonApp`` and ``EdgeLBPool`` share: meet an object that may exist already.

An object with the same name that kexpose did not create is taken over only when the user says
``adopt``; a create that cannot finish in time leaves nothing behind (the new object is removed
again), while an adopted one is left as the failed change made it.
"""

from __future__ import annotations

from typing import Callable, TypeVar

R = TypeVar("R")


def create_or_adopt(*, exists: bool, adopt: bool, taken: str, apply: Callable[[], R], timeout: type[Exception],
                    remove: Callable[[], object], removed: str, error: type[Exception]) -> R:
    """Run ``apply``; on ``timeout`` remove what it created (``removed`` says so) and raise ``error``.

    ``taken`` is the message when the object exists and ``adopt`` is not set.
    """
    if exists and not adopt:
        raise error(taken)
    try:
        return apply()
    except timeout as exc:
        if exists:
            raise error(str(exc)) from None
        remove()
        raise error(f"{exc}. {removed}") from None
