"""Persistence of the simulator's state: one JSON snapshot, replaced atomically.

A killed simulator restarts from the last snapshot. Every API write is in the snapshot before it
is answered, so a restart loses nothing a client was told had happened; the background runner's
progress (tasks launching, deployments ending) is written at most every ``TICK_SAVE_SECONDS``,
and redone after a restart. Writes are not fsynced: the fault the simulator models is the process
being killed (the written file is then in the page cache), not the machine losing power, and an
fsync under the state lock made every concurrent request wait for the disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
