"""Time as an injected dependency: components read a clock, tests advance a fake one."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary start that never go back: for durations and deadlines
        that must not jump when the wall clock is set."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    # The C function itself, not a Python method around it: the processor reads it per task,
    # partly while holding its work queue's lock, where a Python frame is a chance to lose the GIL.
    monotonic = staticmethod(time.monotonic)


class FrozenClock:
    """A clock that only moves when told to; for tests and for replaying fixtures.

    Its monotonic time is its Unix time, so ``advance`` moves deadlines and durations too.
    """

    def __init__(self, start: float) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = float(when)


SYSTEM_CLOCK = SystemClock()


def unix_seconds(clock: Clock) -> int:
    """Whole Unix seconds, as asynq stores every zset score."""
    return int(clock.now())


def unix_nanos(clock: Clock) -> int:
    return int(clock.now() * 1_000_000_000)


def utc_date(unix: float) -> str:
    """The UTC day of a Unix time as asynq's stats keys spell it (YYYY-MM-DD)."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d")


def from_unix(seconds: int) -> datetime | None:
    """A zero (unset) Unix time is None; anything else a timezone-aware UTC datetime."""
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC)
