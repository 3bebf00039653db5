"""When a certificate is due for renewal, in words the preview can show."""

from __future__ import annotations

import datetime as dt

from kexpose_components.certs.model import DEFAULT_RENEW_BEFORE_DAYS, RenewalStatus, certificate_info, day, utc


def renewal_status(cert: str | dt.datetime, renew_before_days: float = DEFAULT_RENEW_BEFORE_DAYS, *,
                   now: dt.datetime | None = None) -> RenewalStatus:
    """Whether a certificate (PEM, or its notAfter) is inside its renewal window, and why.

    The window is the last ``renew_before_days`` days before notAfter; an expired certificate is
    always due. The reason reads well after "certificate for <domain> ...".
    """
    if renew_before_days < 0:
        raise ValueError(f"renew_before_days must be >= 0, not {renew_before_days}")
    now = utc(now)
    if isinstance(cert, dt.datetime):
        not_after = cert if cert.tzinfo else cert.replace(tzinfo=dt.timezone.utc)
    elif isinstance(cert, str) and "-----BEGIN" not in cert:
        not_after = utc(dt.datetime.fromisoformat(cert))
    else:
        not_after = certificate_info(cert).not_after
    days_left = (not_after - now).total_seconds() / 86400
    window = f"{renew_before_days:g}-day renewal window"
    if days_left <= 0:
        return RenewalStatus(True, f"expired on {day(not_after)}", not_after, days_left)
    if days_left <= renew_before_days:
        return RenewalStatus(True, f"expires {day(not_after)} (within the {window})", not_after, days_left)
    return RenewalStatus(False, f"expires {day(not_after)} (in {days_left:.0f} days; the {window} starts "
                                f"{day(not_after - dt.timedelta(days=renew_before_days))})", not_after, days_left)
