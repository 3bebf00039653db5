"""Marathon's launch queue (``/v2/queue``): what is waiting to launch, and why offers were declined.

An app is queued while it has instances left to launch (its ``instances`` minus its live tasks of
the current config). Its launch attempt starts then and ends when nothing is left to launch or
the config changes; meanwhile every offer the scheduler evaluates for it is counted: used or
unused, the first reason of an unused one in Marathon's funnel order, and the last offer of each
agent. Like Marathon's, these statistics live in memory only (a restart starts new attempts).
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kexpose_sim.clock import timestamp
from kexpose_sim.marathon.placement import FUNNEL, OfferMatch

if TYPE_CHECKING:
    from kexpose_sim.marathon.backend import MarathonBackend


@dataclass(frozen=True)
class SeenOffer:
    """An evaluated offer as the queue reports it."""

    id: str
    match: OfferMatch
    at: str


@dataclass
class LaunchAttempt:
    """The statistics of one app's current launch attempt (Marathon's ``QueuedInstanceInfoWithStatistics``)."""

    config: str  # the lastConfigChangeAt being launched
    since: str
    processed: int = 0
    unused: int = 0
    last_used_at: str | None = None
    last_unused_at: str | None = None
    declined: Counter[str] = field(default_factory=Counter)  # first funnel reason -> unused offers
    last_offers: dict[str, SeenOffer] = field(default_factory=dict)  # agent id -> its last offer

    def record(self, matches: list[OfferMatch]) -> None:
        now = timestamp()
        for match in matches:
            self.processed += 1
            self.last_offers[match.agent.id] = SeenOffer(str(uuid.uuid4()), match, now)
            if match.used:
                self.last_used_at = now
                continue
            self.unused += 1
            self.last_unused_at = now
            self.declined[first_reason(match.reasons)] += 1

    def summary(self) -> dict[str, Any]:
        """``processedOffersSummary``."""
        last = [o.match for o in self.last_offers.values()]
        out: dict[str, Any] = {"processedOffersCount": self.processed, "unusedOffersCount": self.unused}
        if self.last_unused_at:
            out["lastUnusedOfferAt"] = self.last_unused_at
        if self.last_used_at:
            out["lastUsedOfferAt"] = self.last_used_at
        out["rejectSummaryLastOffers"] = funnel(Counter(first_reason(m.reasons) for m in last if not m.used), len(last))
        out["rejectSummaryLaunchAttempt"] = funnel(self.declined, self.processed)
        return out


def first_reason(reasons: tuple[str, ...]) -> str:
    """The reason an unused offer counts for: the first of its reasons in Marathon's funnel."""
    return min(reasons, key=FUNNEL.index)


def funnel(declined: Counter[str], processed: int) -> list[dict[str, Any]]:
    """Marathon's ``DeclinedOfferStep`` list: per funnel step, the offers that reached it and the
    ones it declined (an offer declined at one step does not reach the next)."""
    steps = []
    for reason in FUNNEL:
        steps.append({"reason": reason, "declined": declined[reason], "processed": processed})
        processed -= declined[reason]
    return steps


class LaunchQueue:
    """The launch attempts of queued apps; the scheduler records offers and syncs every tick."""

    def __init__(self, backend: MarathonBackend) -> None:
        self.backend = backend
        self.attempts: dict[str, LaunchAttempt] = {}

    def left_to_launch(self, app_id: str) -> int:
        rec = self.backend.apps[app_id]
        config = rec["versionInfo"]["lastConfigChangeAt"]
        live = [t for t in self.backend.app_tasks(app_id) if t["state"] != "TASK_KILLING" and t["_config"] == config]
        return max(0, rec["definition"]["instances"] - len(live))

    def sync(self) -> None:
        """Start attempts for apps with instances left to launch (anew on a config change), end
        the others'."""
        for app_id, rec in self.backend.apps.items():
            config = rec["versionInfo"]["lastConfigChangeAt"]
            if self.left_to_launch(app_id) == 0:
                self.attempts.pop(app_id, None)
            elif app_id not in self.attempts or self.attempts[app_id].config != config:
                self.attempts[app_id] = LaunchAttempt(config, timestamp())
        for app_id in [a for a in self.attempts if a not in self.backend.apps]:
            del self.attempts[app_id]

    def record(self, app_id: str, config: str, matches: list[OfferMatch]) -> None:
        attempt = self.attempts.get(app_id)
        if attempt is None or attempt.config != config:
            attempt = self.attempts[app_id] = LaunchAttempt(config, timestamp())
        attempt.record(matches)

    def entries(self, with_offers: bool) -> list[dict[str, Any]]:
        """``GET /v2/queue``'s items, by app id."""
        self.sync()
        return [self.entry(app_id, with_offers) for app_id in sorted(self.attempts)]

    def entry(self, app_id: str, with_offers: bool) -> dict[str, Any]:
        rec, attempt = self.backend.apps[app_id], self.attempts[app_id]
        left = rec.get("_nextLaunchAt", 0) - time.time()
        item: dict[str, Any] = {
            "count": self.left_to_launch(app_id),
            "delay": {"timeLeftSeconds": max(0, math.ceil(left)), "overdue": left <= 0},
            "since": attempt.since,
            "processedOffersSummary": attempt.summary(),
            "app": {**rec["definition"], "versionInfo": rec["versionInfo"]},
        }
        if with_offers:
            item["lastUnusedOffers"] = [unused_offer(o, self.backend) for o in attempt.last_offers.values()
                                        if not o.match.used]
        return item

    def reset_delay(self, app_id: str) -> bool:
        """``DELETE /v2/queue/<app>/delay``: launch at once. False when the app is not queued."""
        self.sync()
        if app_id not in self.attempts:
            return False
        rec = self.backend.apps[app_id]
        rec.pop("_nextLaunchAt", None)
        rec.pop("_failures", None)
        return True


def unused_offer(seen: SeenOffer, backend: MarathonBackend) -> dict[str, Any]:
    """One ``lastUnusedOffers`` item: the offer (the agent's free resources then) and its reasons."""
    agent, free = seen.match.agent, seen.match.free
    resources = [{"name": name, "scalar": free[name], "role": agent.role} for name in ("cpus", "mem", "disk")]
    if agent.gpus:
        resources.append({"name": "gpus", "scalar": free["gpus"], "role": agent.role})
    resources.append({"name": "ports", "role": agent.role,
                      "ranges": free_port_ranges(agent.port_ranges, backend.state.cluster.ports_in_use(agent.id))})
    return {
        "offer": {"id": seen.id, "agentId": agent.id, "hostname": agent.hostname, "resources": resources,
                  "attributes": [{"name": k, "text": v} for k, v in sorted(agent.attributes.items())]},
        "timestamp": seen.at,
        "reason": list(seen.match.reasons),
    }


def free_port_ranges(offered: list[tuple[int, int]], used: set[int]) -> list[dict[str, int]]:
    """The offered port ranges without the ports in use, as Mesos ``ranges``."""
    out = []
    for lo, hi in offered:
        start = lo
        for port in sorted(p for p in used if lo <= p <= hi):
            if port > start:
                out.append({"begin": start, "end": port - 1})
            start = port + 1
        if start <= hi:
            out.append({"begin": start, "end": hi})
    return out
