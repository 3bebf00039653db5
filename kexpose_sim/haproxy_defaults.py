"""The ``defaults`` section that Marathon-LB's and Edge-LB's HAProxy templates share.

Both templates descend from marathon-lb's: the same retries, queue and connection limits,
timeouts and options. They differ only in the timeouts (the simulator scales Marathon-LB's for
tests) and in a line before or after the shared ones, so one function renders both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefaultTimeouts:
    """The three timeouts a template sets per deployment; the others are fixed by the templates."""

    connect: str = "3s"
    client: str = "30s"
    server: str = "30s"


def defaults_section(timeouts: DefaultTimeouts, first: tuple[str, ...] = (), last: tuple[str, ...] = ()) -> str:
    """``defaults`` with the shared settings, ``first`` before them and ``last`` after them."""
    lines = [
        *first,
        "retries 3",
        "backlog 10000",
        "maxconn 10000",
        f"timeout connect {timeouts.connect}",
        f"timeout client {timeouts.client}",
        f"timeout server {timeouts.server}",
        "timeout tunnel 3600s",
        "timeout http-keep-alive 1s",
        "timeout http-request 15s",
        "timeout queue 30s",
        "timeout tarpit 60s",
        "option dontlognull",
        "option http-server-close",
        "option redispatch",
        *last,
    ]
    return "defaults\n" + "".join(f"  {line}\n" for line in lines)
