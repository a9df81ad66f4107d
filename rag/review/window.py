"""Time windows for the monitor: '7d', '24h', '90m' back from now, or an ISO date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_SPAN = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_when(value: str, now: datetime | None = None) -> datetime:
    """A point in time from a span back from now ('7d') or an ISO date/time (UTC if naive)."""
    now = now or datetime.now(UTC)
    m = _SPAN.match(value.strip())
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r}: use a span like 7d, 24h, 90m or an ISO date") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)
