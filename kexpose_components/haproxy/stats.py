"""The standalone HAProxy's stats page, when a stack asks for one: behind basic auth with a
password pulumi-random generates (a secret output), bound to 127.0.0.1 unless told otherwise.

It lives in its own file (``stats.cfg``, loaded with a second ``-f``) so the password never
enters ``haproxy.cfg``, whose text is a plain output of the HaproxyConfig resource; the file is
delivered with the certificates, as a secret.
"""

from __future__ import annotations

STATS_FILE = "stats.cfg"
STATS_USER = "kexpose"


def stats_section(bind_address: str, port: int, password: str, user: str = STATS_USER) -> str:
    """``listen stats`` with ``stats auth``; the password is pulumi-random's (letters and digits)."""
    return (f"listen stats\n    bind {bind_address}:{port}\n    mode http\n    stats enable\n    stats uri /\n"
            f"    stats refresh 10s\n    stats auth {user}:{password}\n")
