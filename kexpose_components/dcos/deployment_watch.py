"""One watcher of Marathon deployments per provider process, however many resources wait.

Every ``MarathonApp`` create/update/delete waits for its deployment to leave ``/v2/deployments``.
Polling that per resource costs N × polls and sees the end late (a poll interval after it). Here
one thread follows Marathon's event stream (``/v2/events``: ``deployment_success`` and
``deployment_failed`` name the deployment the moment it ends) and one thread polls
``/v2/deployments`` for everyone at once: every ``FALLBACK_POLL`` seconds while the stream is
attached (a missed event then costs at most that), every ``POLL`` seconds while it is not (a
Marathon without the stream, or between reconnects). Waiters subscribe and sleep until their ids
are gone; the stream and the poll only ever *remove* ids, so a lost or doubled event is harmless.
The stream's ends are remembered for a while whoever waits, so a deployment that ended between
its write and its waiter's subscription is not waited for: with the stream attached, a wait costs
no request of its own.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests

from kexpose_components import cancellation
from kexpose_components.dcos.client import DcosApiError, DcosSession

POLL = 0.25  # seconds between polls while the event stream is not attached
FALLBACK_POLL = 2.0  # seconds between polls while it is
RECONNECT = 1.0  # seconds before the stream is opened again after it dropped
ENDED = ("deployment_success", "deployment_failed")
REMEMBER = 300.0  # seconds an ended deployment is remembered for a waiter that subscribes late


class DeploymentWatcher:
    """Follows the deployments of one Marathon for every waiter in this process."""

    def __init__(self, session: DcosSession, base: str):
        self.session, self.base = session, base
        self._lock = threading.Condition()
        self._waiting: dict[str, int] = {}  # deployment id -> number of waiters
        self._since: dict[str, float] = {}  # deployment id -> when it was first waited for
        self._ended: set[str] = set()  # waited-for ids seen ended (by event or poll)
        self._running: dict[str, dict[str, Any]] = {}  # the last poll, by id
        self._recent: dict[str, float] = {}  # every id the stream said ended -> when
        self.attached = threading.Event()
        self._tried = threading.Event()  # the first attempt to attach the stream ended (either way)
        self._threads_started = False

    # -- waiting ------------------------------------------------------------------------------------
    def subscribe(self, ids: list[str]) -> None:
        """Start following ``ids``; :meth:`pending` says which have not ended yet. The stream is
        attached first (until the first attempt to attach it ended, at most 1 s: a Marathon without
        the stream costs no wait after that). An end between the write and the subscription is seen
        from what the stream remembers, or, while it is not attached, by a poll at once."""
        self._start()
        self._tried.wait(1.0)
        with self._lock:
            for i in ids:
                self._waiting[i] = self._waiting.get(i, 0) + 1
                self._since.setdefault(i, time.monotonic())
            ended = {i for i in ids if i in self._recent}
        self._end(ended)
        if not self.attached.is_set():
            self._poll_once()

    def unsubscribe(self, ids: list[str]) -> None:
        with self._lock:
            for i in ids:
                left = self._waiting.get(i, 0) - 1
                if left > 0:
                    self._waiting[i] = left
                else:
                    self._waiting.pop(i, None)
                    self._since.pop(i, None)
                    self._ended.discard(i)

    def pending(self, ids: list[str]) -> list[str]:
        with self._lock:
            return sorted(i for i in ids if i not in self._ended)

    def running(self, deployment_id: str) -> dict[str, Any]:
        """The deployment as last polled (for progress and timeout messages)."""
        with self._lock:
            return dict(self._running.get(deployment_id, {"id": deployment_id}))

    def wait(self, ids: list[str], seconds: float, what: str) -> None:
        """Sleep until all of ``ids`` ended, ``seconds`` pass, or the run is interrupted."""
        end = time.monotonic() + seconds
        with self._lock:
            while any(i not in self._ended for i in ids) and not cancellation.CANCELLED.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(min(left, 0.2))
        cancellation.check(what)

    # -- the two threads ----------------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._threads_started:
                return
            self._threads_started = True
        for target, name in ((self._follow_stream, "marathon-events"), (self._poll_loop, "marathon-poll")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def _end(self, ids: set[str]) -> None:
        with self._lock:
            ended = ids & set(self._waiting)
            if ended - self._ended:
                self._ended |= ended
                self._lock.notify_all()

    def _poll_once(self) -> None:
        """Poll once. Only ids waited for since before the request count as gone when absent: an
        answer begun before a deployment existed says nothing about it."""
        asked = time.monotonic()
        try:
            running = {d["id"]: d for d in self.session.request("GET", self.base + "/v2/deployments").json()}
        except (DcosApiError, ValueError, KeyError, TypeError):
            return  # the next poll (or an event) decides; a waiter's own deadline bounds the wait
        with self._lock:
            self._running = running
            gone = {i for i, since in self._since.items() if since <= asked} - set(running)
        self._end(gone)

    def _poll_loop(self) -> None:
        while True:
            with self._lock:
                busy = bool(set(self._waiting) - self._ended)
            if busy:
                self._poll_once()
            time.sleep(FALLBACK_POLL if self.attached.is_set() else POLL)

    def _follow_stream(self) -> None:
        while True:
            try:
                self._read_stream()
            except (DcosApiError, requests.RequestException, ValueError):
                pass  # Marathon restarted, a proxy cut the stream, or no stream at all: polls cover it
            self.attached.clear()
            self._tried.set()
            time.sleep(RECONNECT)

    def _read_stream(self) -> None:
        response = self.session.request(
            "GET", self.base + "/v2/events", stream=True, headers={"Accept": "text/event-stream"},
            params=[("event_type", "event_stream_attached")] + [("event_type", e) for e in ENDED])
        with response:
            event = ""
            for line in response.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event:
                    self._on_event(event, json.loads(line[5:]))
                    event = ""

    def _on_event(self, event: str, data: dict[str, Any]) -> None:
        if event == "event_stream_attached":
            self.attached.set()
            self._tried.set()
            self._poll_once()  # anything that ended while the stream was down
        elif event in ENDED and isinstance(data.get("id"), str):
            now = time.monotonic()
            with self._lock:
                self._recent = {i: t for i, t in self._recent.items() if now - t < REMEMBER}
                self._recent[data["id"]] = now
            self._end({data["id"]})


_WATCHERS: dict[tuple[DcosSession, str], DeploymentWatcher] = {}
_WATCHERS_LOCK = threading.Lock()


def watcher(session: DcosSession, base: str) -> DeploymentWatcher:
    """The process's watcher for this session's Marathon at ``base``."""
    key = (session, base)  # sessions are shared per connection for the process's life (client.py)
    with _WATCHERS_LOCK:
        found = _WATCHERS.get(key)
        if found is None:
            found = _WATCHERS[key] = DeploymentWatcher(session, base)
        return found
