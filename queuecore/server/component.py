"""The shape of every background duty: ``run_once()`` does the work, ``run_forever()`` loops.

``run_forever`` only sleeps, logs and backs off: no error of one iteration ends the loop — a
Redis outage, an unexpected reply (CLUSTERDOWN, OOM, a script error) or a bug in run_once alike.
Failures back off exponentially up to the component's interval, so a persistent error is logged
at most about once an interval and a passing one is retried soon.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from queuecore.errors import RedisUnavailableError

log = logging.getLogger("queuecore.server")


class Backoff:
    """Exponential delays for reconnecting: first, first*2, ... up to ``cap`` seconds."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        return min(self.cap, self.first * 2 ** (self.failures - 1))

    def reset(self) -> None:
        self.failures = 0


class PeriodicComponent:
    """A duty run every ``interval`` seconds; subclasses implement :meth:`run_once`."""

    name = "component"
    # asynq runs the recoverer and heartbeat at once; forwarder and janitor after one interval.
    run_at_start = False
    # When set, the wait between runs is cut into slices this long, and run_once comes early
    # as soon as due_early() says so (it must be cheap: no Redis).
    early_check: float | None = None

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def run_once(self) -> Any:
        raise NotImplementedError

    def due_early(self) -> bool:
        return False

    def _wait(self, stop: threading.Event, delay: float) -> bool:
        """Wait ``delay`` s or until due_early(); True when stopped."""
        step = self.early_check
        if step is None:
            return stop.wait(delay)
        left = delay
        while left > 0:
            if stop.wait(min(step, left)):
                return True
            left -= step
            if self.due_early():
                return False
        return False

    def run_forever(self, stop: threading.Event) -> None:
        backoff = Backoff(first=min(0.1, self.interval), cap=self.interval)
        if not self.run_at_start and stop.wait(self.interval):
            return
        while not stop.is_set():
            delay = self.interval
            try:
                self.run_once()
                backoff.reset()
            except RedisUnavailableError as exc:
                delay = backoff.next_delay()
                log.warning("%s: Redis unavailable (%s); retrying in %.1fs", self.name, exc, delay)
            except Exception:
                delay = backoff.next_delay()
                log.exception("%s failed; retrying in %.1fs", self.name, delay)
            if self._wait(stop, delay):
                return
