"""Persistence of the simulator's state: one JSON snapshot, replaced atomically, group-committed.

A killed simulator restarts from the last snapshot. Every API write is in a snapshot on disk
before it is answered, so a restart loses nothing a client was told had happened; the background
runner's progress (tasks launching, deployments ending) is written at most every
``TICK_SAVE_SECONDS``, and redone after a restart. Writes are not fsynced: the fault the simulator
models is the process being killed (the written file is then in the page cache), not the machine
losing power, and an fsync under the state lock made every concurrent request wait for the disk.

Writes that arrive together share one snapshot (group commit, as a database shares one log flush):
serialising the whole state takes ~12 ms with 50 apps, so 50 PUTs at once, each writing its own
snapshot under the state lock, queued for 0.6 s behind each other. Now the first writer writes a
snapshot for everyone waiting, outside the state lock; those who changed state while it wrote get
the next one.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, ContextManager

TICK_SAVE_SECONDS = 0.25  # the background runner's progress is written at most this often


class StateStore:
    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "state.json"

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return None

    def save(self, snapshot: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w") as fh:
            fh.write(json.dumps(snapshot, sort_keys=True))  # dumps: the C encoder (dump streams in Python)
        os.replace(tmp, self.path)


class GroupCommit:
    """``commit()`` returns once a snapshot taken after the call began is on disk.

    ``state_lock`` guards the state ``snapshot`` reads; it is held only while the snapshot is
    taken, never while it is written, and a caller must not hold it (the writer needs it)."""

    def __init__(self, store: StateStore, state_lock: ContextManager, snapshot: Callable[[], dict[str, Any]]):
        self._store, self._state_lock, self._snapshot = store, state_lock, snapshot
        self._cv = threading.Condition()
        self._requested = 0  # commits asked for (under the state lock: ordered with the changes)
        self._durable = 0  # the highest request a snapshot on disk covers
        self._writing = False

    def commit(self) -> None:
        with self._state_lock:
            self._requested += 1
            wanted = self._requested
        with self._cv:
            while self._durable < wanted:
                if not self._writing:
                    self._writing = True
                    break
                self._cv.wait()
            else:
                return
        written = 0
        try:
            with self._state_lock:
                snapshot, covered = self._snapshot(), self._requested
            self._store.save(snapshot)  # a failure reaches this caller; a waiter then tries again
            written = covered
        finally:
            with self._cv:
                self._writing = False
                self._durable = max(self._durable, written)
                self._cv.notify_all()
