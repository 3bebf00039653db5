"""A task's read-only volume as its HAProxy reads it: a mirror of the agent's directory, kept in step.

All simulated agents share one network stack, so what HAProxy reads must have its wildcard binds
narrowed to its agent's address (``haproxy_tasks.effective_config``) while the files on the agent
stay as written. A read-only volume is therefore bound from a mirror directory in the task's
sandbox, which the simulator keeps in step with the agent's directory. Each changed file is
copied through ``transform`` to a hidden temporary name and renamed over the old copy, in the
order the agent's files last changed (their ctime): a reader that waits for the file written last
— kexpose's reloader waits for haproxy.cfg — sees a complete set, as it would on the agent.
Hidden files (uploads in flight) are left out; files removed on the agent leave the mirror.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Callable

#: How often the mirrors look at the agents' directories (seconds).
SYNC_INTERVAL = 0.1


def _version(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells one version of a file from the next: a rename brings a new inode."""
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class VolumeView:
    """``source`` (a directory on the agent) mirrored into ``mirror`` through ``transform``."""

    def __init__(self, source: Path, mirror: Path, transform: Callable[[str], str]):
        self.source, self.mirror, self.transform = source, mirror, transform
        self._seen: dict[str, tuple[int, int, int]] = {}

    def _listing(self) -> dict[str, os.stat_result]:
        """Relative path -> stat of every visible regular file below ``source``."""
        found: dict[str, os.stat_result] = {}
        for top, dirs, files in os.walk(self.source):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if not name.startswith("."):
                    path = Path(top) / name
                    try:
                        found[str(path.relative_to(self.source))] = path.stat()
                    except FileNotFoundError:
                        continue  # renamed away while we looked: the next pass sees its successor
        return found

    def _copy(self, relative: str) -> None:
        data = (self.source / relative).read_bytes()
        try:
            data = self.transform(data.decode()).encode()
        except UnicodeDecodeError:
            pass  # not text: copied as it is
        target = self.mirror / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.kexpose-view")
        temp.write_bytes(data)
        os.chmod(temp, (self.source / relative).stat().st_mode & 0o777)
        temp.replace(target)

    def sync(self) -> None:
        """Bring the mirror up to date with the agent's directory."""
        self.mirror.mkdir(parents=True, exist_ok=True)
        listing = self._listing()
        changed = [r for r, st in listing.items() if self._seen.get(r) != _version(st)]
        for relative in sorted(changed, key=lambda r: listing[r].st_ctime_ns):
            try:
                self._copy(relative)
            except FileNotFoundError:
                continue
            self._seen[relative] = _version(listing[relative])
        for relative in [r for r in self._seen if r not in listing]:
            (self.mirror / relative).unlink(missing_ok=True)
            del self._seen[relative]


class ViewSyncer:
    """One thread that keeps every running task's views in step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: dict[str, list[VolumeView]] = {}
        threading.Thread(target=self._loop, name="kexpose-sim-volume-views", daemon=True).start()

    def add(self, key: str, views: list[VolumeView]) -> None:
        for view in views:
            view.sync()  # the container starts with a complete mirror
        with self._lock:
            self._views[key] = views

    def remove(self, key: str) -> None:
        with self._lock:
            self._views.pop(key, None)

    def _loop(self) -> None:
        while True:
            time.sleep(SYNC_INTERVAL)
            with self._lock:
                views = [v for vs in self._views.values() for v in vs]
            for view in views:
                try:
                    view.sync()
                except OSError:
                    continue  # a directory removed under us: the task is stopping
