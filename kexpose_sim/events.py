"""Marathon's event bus: subscribers of /v2/events each get a queue of (type, payload)."""

from __future__ import annotations

import queue
import threading
from typing import Any

from kexpose_sim.clock import timestamp


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[queue.Queue] = []

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue()
        with self._lock:
            self._subscribers.append(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def close_all(self) -> None:
        """End every open stream, as a Marathon restart or a leader change does."""
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            q.put(None)

    def publish(self, event_type: str, payload: dict[str, Any]) -> None:
        event = {**payload, "eventType": event_type, "timestamp": timestamp()}
        with self._lock:
            subscribers = list(self._subscribers)
        for q in subscribers:
            q.put(event)
