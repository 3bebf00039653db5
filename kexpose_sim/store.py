"""Persistence of the simulator's state: one JSON snapshot, replaced atomically.

A killed simulator restarts from the last snapshot; snapshots are written after every change,
so a restart loses nothing that a client was told had happened.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


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
            json.dump(snapshot, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
