"""How the standalone HAProxy takes a new config without a restart: kexpose's reloader.

The pinned app's command is ``reloader.sh`` (delivered with the config), a POSIX shell script
that runs HAProxy in master-worker mode and reloads it in place (``haproxy -c``, then SIGUSR2 to
the master) when a new ``haproxy.cfg`` arrives — kexpose delivers that file after every file it
references, so a new revision line in it means a complete set. What a reload changed is told
apart by a **revision**: a digest over the config and every file HAProxy reads, written into
``haproxy.cfg`` (a comment the reloader reads, and a response header the served config adds to
every answer, which is how kexpose sees that an agent serves it). The reloader writes each
outcome — started, reloaded, rejected with HAProxy's ``[ALERT]`` lines — to a status file in the
task's sandbox, which kexpose reads through the Mesos agent's files API.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from kexpose_components.haproxy.model import config_hash

#: The reloader as delivered next to the config, and what the app runs.
RELOADER_FILE = "kexpose-reload.sh"
RELOADER = (Path(__file__).parent / "reloader.sh").read_text()
#: The reloader's outcome, in the task's sandbox.
STATUS_FILE = "kexpose-reload.status"
REVISION_LENGTH = 16


def reloader_command(container_dir: str) -> str:
    """The app's ``cmd``: the reloader, on every ``*.cfg`` file of the config directory."""
    return f"exec /bin/sh {container_dir}/{RELOADER_FILE} {container_dir}"


def reloader_digest() -> str:
    """The reloader's SHA-256: the app carries it, so a new reloader restarts the task."""
    return hashlib.sha256(RELOADER.encode()).hexdigest()


def revision(config: str, files: dict[str, str]) -> str:
    """The revision of a config (rendered without one) and every file it references: the
    preview knows it, so a change shows as ``revision: old => new``."""
    return config_hash(config, files)[:REVISION_LENGTH]


@dataclass(frozen=True)
class ReloadStatus:
    """One task's reloader status file: what it last did, to which revision, and what it serves."""

    state: str  # started | reloaded | rejected
    revision: str
    served: str
    alerts: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ReloadStatus:
        fields: dict[str, str] = {}
        alerts: list[str] = []
        for line in text.splitlines():
            if "[ALERT]" in line:
                alerts.append(line.strip())
            elif " " in line:
                key, value = line.split(" ", 1)
                fields.setdefault(key, value.strip())
        return cls(fields.get("state", ""), fields.get("revision", ""), fields.get("served", ""), tuple(alerts))
