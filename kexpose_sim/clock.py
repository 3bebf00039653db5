"""Timestamps in Marathon's format (ISO-8601 UTC, milliseconds), strictly increasing."""

from __future__ import annotations

import datetime as dt
import threading
import time

_lock = threading.Lock()
_last = 0.0


def timestamp(at: float | None = None) -> str:
    """``2017-07-19T17:34:41.967Z``. Without ``at``, a fresh one later than any handed out."""
    global _last
    if at is None:
        with _lock:
            at = max(time.time(), _last + 0.001)
            _last = at
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(at * 1000) % 1000:03d}Z"
