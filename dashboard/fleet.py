"""The fleet overview's reading: every instance's queues and findings, in parallel, each bounded.

Each instance is read on a worker thread of one process-wide pool, through an Inspector whose
connection times out after the instance's ``TIMEOUT`` (``connection.fleet_inspector``); the page
waits for each instance at most that long from the start of the read. An instance that fails or
is late comes back as down with its error, and the others' rows are unaffected: the whole read
takes about the largest bound, never the sum.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace

from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django.connection import fleet_inspector
from queuecore.contrib.django.instances import Instance
from queuecore.health import Finding, HealthThresholds, collect
from queuecore.inspection import QueueInfo

# Enough threads for every instance of a fleet at once, plus a few still finishing a late read.
POOL_THREADS = 16

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class Reading:
    """One instance as the fleet overview shows it; ``error`` set means it is down."""

    instance: Instance
    queues: tuple[QueueInfo, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str = ""
    # Seconds the read took (or waited before giving up).
    took: float = 0.0

    @property
    def down(self) -> bool:
        return bool(self.error)


Read = Callable[[Instance, HealthThresholds], Reading]


def read_instance(instance: Instance, thresholds: HealthThresholds) -> Reading:
    """Queues (the cheap overview) and findings of one instance; raises what Redis raises."""
    insp = fleet_inspector(instance.url, instance.timeout)
    queues = insp.overview(cheap=True)
    findings = collect(insp, thresholds, SYSTEM_CLOCK, queues=queues)
    return Reading(instance=instance, queues=tuple(queues), findings=tuple(findings))


def pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="fleet")
        return _pool


def read_fleet[T](
    fleet: Sequence[Instance],
    thresholds: HealthThresholds,
    read: Read = read_instance,
    present: Callable[[Reading], T] = lambda reading: reading,  # type: ignore[assignment,return-value]
) -> list[T]:
    """Every instance's reading, in ``fleet``'s order, each waited for at most its timeout.

    ``present`` turns a reading into what the page shows; it runs on the worker thread right
    after the read, so the answered instances are ready when a late one's bound runs out and the
    page pays only for presenting the late one.
    """
    started = time.monotonic()
    futures = [pool().submit(_read_and_present, i, thresholds, read, present) for i in fleet]
    shown = []
    for instance, future in zip(fleet, futures, strict=True):
        remaining = max(0.0, started + instance.timeout - time.monotonic())
        try:
            shown.append(future.result(timeout=remaining))
        except FutureTimeout:
            future.cancel()
            late = Reading(instance=instance, error=f"no answer within {instance.timeout:g} s")
            shown.append(present(late))
    return shown


def _read_and_present[T](
    instance: Instance, thresholds: HealthThresholds, read: Read, present: Callable[[Reading], T]
) -> T:
    started = time.monotonic()
    try:
        reading = read(instance, thresholds)
    except Exception as exc:  # any failure of one instance is that instance's row only
        reading = Reading(instance=instance, error=str(exc) or type(exc).__name__)
    return present(replace(reading, took=time.monotonic() - started))
