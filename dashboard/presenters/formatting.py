"""Human forms of sizes, durations and moments, shared by presenters and template filters."""

from __future__ import annotations

from datetime import datetime, timedelta

_UNITS = ("B", "KB", "MB", "GB", "TB")


def format_bytes(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_duration(delta: timedelta | None) -> str:
    """Compact and signless: 3m39s, 2h05m, 1d4h, 850ms."""
    if delta is None:
        return "—"
    seconds = abs(delta.total_seconds())
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def relative(moment: datetime | None, now: datetime) -> str:
    """'in 5m00s' or '3m39s ago'."""
    if moment is None:
        return "—"
    delta = moment - now
    if abs(delta.total_seconds()) < 1:
        return "now"
    text = format_duration(delta)
    return f"in {text}" if delta.total_seconds() > 0 else f"{text} ago"


def format_rate(failed: int, processed: int) -> str:
    if not processed:
        return "—"
    return f"{failed / processed:.1%}"
