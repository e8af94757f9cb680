"""Cron schedules, as pure functions: robfig/cron's specs (which asynq uses) read by croniter.

Five cron fields, the ``@daily``-style descriptors and ``@every <Go duration>``, each optionally
prefixed ``CRON_TZ=<IANA zone>`` (or ``TZ=``); see ``queuecore.scheduler`` for how ticks are
claimed and enqueued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from queuecore.errors import InvalidArgumentError
from queuecore.options import parse_duration_ns

__all__ = [
    "DESCRIPTORS",
    "CronSchedule",
    "EverySchedule",
    "Schedule",
    "next_run",
    "parse_schedule",
    "split_zone",
    "time_zone",
]

# robfig/cron's descriptors, as five-field expressions.
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SECOND_NS = 1_000_000_000


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidArgumentError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True, kw_only=True)
class CronSchedule:
    """A five-field cron expression evaluated in an IANA time zone."""

    expression: str
    timezone: str = "UTC"

    def next_after(self, after: float) -> float:
        """The first matching minute strictly after ``after`` (Unix seconds), as Unix seconds."""
        start = datetime.fromtimestamp(math.floor(after), time_zone(self.timezone))
        following: datetime = croniter(self.expression, start).get_next(datetime)
        return following.timestamp()


@dataclass(frozen=True, kw_only=True)
class EverySchedule:
    """``@every <duration>``: whole seconds (at least 1, as robfig/cron), aligned to the epoch."""

    interval: int

    def next_after(self, after: float) -> float:
        return float((math.floor(after) // self.interval + 1) * self.interval)


Schedule = CronSchedule | EverySchedule


def split_zone(spec: str) -> tuple[str | None, str]:
    """robfig/cron's ``CRON_TZ=<zone> `` / ``TZ=<zone> `` prefix, split off."""
    if spec.startswith(("CRON_TZ=", "TZ=")):
        head, _, rest = spec.partition(" ")
        return head.partition("=")[2], rest.strip()
    return None, spec


def parse_schedule(spec: str, *, timezone: str = "UTC") -> Schedule:
    """Read a spec; ``timezone`` applies when the spec carries no ``CRON_TZ=`` of its own."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"cron spec must be a non-blank string, got {spec!r}")
    own_zone, body = split_zone(spec.strip())
    zone = own_zone or timezone
    time_zone(zone)
    if body.startswith("@every "):
        text = body.removeprefix("@every ").strip()
        ns = parse_duration_ns(text)
        # robfig/cron: under a second counts as one second; otherwise whole seconds.
        return EverySchedule(interval=max(1, ns // _SECOND_NS))
    expression = DESCRIPTORS.get(body, body)
    if expression.startswith("@"):
        raise InvalidArgumentError(f"unrecognized descriptor {body!r} in cron spec {spec!r}")
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise InvalidArgumentError(
            f"invalid cron spec {spec!r}: expected 5 fields (minute hour day month weekday), "
            "a descriptor such as @daily, or @every <duration>"
        )
    return CronSchedule(expression=expression, timezone=zone)


def next_run(spec: str, after: float, *, timezone: str = "UTC") -> float:
    """When ``spec`` next fires strictly after ``after`` (both Unix seconds)."""
    return parse_schedule(spec, timezone=timezone).next_after(after)
