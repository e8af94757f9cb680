"""The worker's pure decisions: retry delay, queue order, processing deadline, queue config.

No I/O and no clock here: callers pass ``now`` and a random source, tests pass tables.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import timedelta
from functools import reduce
from typing import Any

from queuecore.errors import InvalidArgumentError

DEFAULT_TIMEOUT_SECONDS = 30 * 60


def default_retry_delay(
    retried: int, error: BaseException | None = None, task: Any = None, *, rng: Any = random
) -> timedelta:
    """asynq's DefaultRetryDelayFunc: n⁴ + 15 + k·(n+1) seconds, k a whole number in [0, 30)."""
    n = max(0, int(retried))
    return timedelta(seconds=n**4 + 15 + rng.randrange(30) * (n + 1))


def delay_seconds(delay: timedelta | float | int) -> float:
    """A retry-delay function may answer a timedelta or seconds; negative means now."""
    seconds = delay.total_seconds() if isinstance(delay, timedelta) else float(delay)
    return max(0.0, seconds)


def processing_deadline(now: float, timeout: int, deadline: int) -> float:
    """asynq's computeDeadline: when a handler's context ends (Unix seconds).

    Both set: the earlier of now+timeout and deadline; one set: that one; neither: now+30 min.
    """
    if timeout > 0 and deadline > 0:
        return min(now + timeout, float(deadline))
    if timeout > 0:
        return now + timeout
    if deadline > 0:
        return float(deadline)
    return now + DEFAULT_TIMEOUT_SECONDS


def normalize_queues(queues: Mapping[str, int] | None) -> dict[str, int]:
    """asynq's queue config rules: blank names and priorities <= 0 are dropped; none → default."""
    result: dict[str, int] = {}
    for name, priority in (queues or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgumentError(f"queue name must be a non-blank string, got {name!r}")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise InvalidArgumentError(f"priority of queue {name!r} must be an integer")
        if priority > 0:
            result[name] = priority
    return result or {"default": 1}


def parse_queue_spec(values: list[str]) -> dict[str, int]:
    """``["critical=6,default=3", "low"]`` → ``{"critical": 6, "default": 3, "low": 1}``.

    The command-line form of a queue config; a name without ``=weight`` weighs 1.
    """
    queues: dict[str, int] = {}
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, weight = item.partition("=")
            name = name.strip()
            if not name:
                raise InvalidArgumentError(f"queue {item!r} has no name")
            try:
                priority = int(weight) if sep else 1
            except ValueError:
                raise InvalidArgumentError(
                    f"queue {name!r}: weight {weight!r} is not a number"
                ) from None
            if priority < 1:
                raise InvalidArgumentError(f"queue {name!r}: weight must be at least 1")
            queues[name] = priority
    return queues


def reduced_priorities(queues: Mapping[str, int]) -> dict[str, int]:
    """Priorities divided by their greatest common divisor (asynq's normalizeQueues)."""
    divisor = reduce(math.gcd, queues.values(), 0) or 1
    return {name: priority // divisor for name, priority in queues.items()}


def strict_order(queues: Mapping[str, int]) -> list[str]:
    """Highest priority first; equal priorities by name, so the order is stable."""
    return sorted(queues, key=lambda name: (-queues[name], name))


def weighted_order(queues: Mapping[str, int], rng: Any = random) -> list[str]:
    """asynq's weighted shuffle: each name priority (÷ gcd) times, shuffled, first occurrences."""
    if len(queues) == 1:
        return list(queues)
    names = [name for name, priority in reduced_priorities(queues).items() for _ in range(priority)]
    rng.shuffle(names)
    return list(dict.fromkeys(names))


def queue_order(queues: Mapping[str, int], strict: bool, rng: Any = random) -> list[str]:
    """The order in which to try the queues for the next claim."""
    return strict_order(queues) if strict else weighted_order(queues, rng)


def failure_action(retried: int, max_retry: int, error: BaseException) -> str:
    """What a failure leads to, in asynq's order of checks (handleFailedMessage).

    ``"done"`` for RevokeTask, ``"archive"`` when retries are exhausted or for SkipRetry,
    otherwise ``"retry"``. (The error handler callback runs before this, in the caller.)
    """
    from queuecore.handlers import RevokeTask, SkipRetry, wraps_error

    if wraps_error(error, RevokeTask):
        return "done"
    if retried >= max_retry or wraps_error(error, SkipRetry):
        return "archive"
    return "retry"
