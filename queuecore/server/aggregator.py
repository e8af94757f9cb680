"""Group aggregator (spec §4.3 M4): ready groups become one task through a user function.

``aggregate(group, tasks) -> Task`` receives the member tasks (queuecore ``Task`` objects with
type, payload and headers, as asynq passes ``*Task``) and returns the task to enqueue; it goes
into the same queue through the normal client, then the members are deleted. If the function or
the enqueue fails the staged set stays, and the recoverer puts its tasks back into the group once
the set's 2-minute deadline passes.

Concurrency, as asynq v0.26's aggregator: every tick starts one *pass* (every group of every
queue, one after another) on a thread of its own, and at most ``MAX_CONCURRENT_CHECKS`` (Go's
``maxConcurrentAggregationChecks = 3``) passes are in flight at once; a tick that finds all of
them busy is skipped with a warning, and shutdown waits for the passes in flight. A pass only
overlaps the next one when it outlasts the tick interval (a slow aggregate function, a slow
enqueue), so one slow group does not stall aggregation for the whole interval — yet the number
of aggregate functions running at once stays bounded. Overlapping passes are safe: staging a
group (``aggregation_check.lua``) is atomic, so each member lands in exactly one set.

``run_once()`` is one pass on the calling thread: deterministic, what tests and burst mode call.
As in Go, a queue whose groups cannot be listed, or a group whose check fails, is logged and the
pass goes on with the others; the first such error is raised once the pass is over, so the loop
backs off like every component's.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from queuecore.clock import Clock
from queuecore.errors import RedisUnavailableError
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import Backoff, PeriodicComponent
from queuecore.server.config import GroupAggregatorFunc

log = logging.getLogger("queuecore.server.aggregator")

# (task to enqueue, queue name) -> anything; the server passes Client.enqueue.
EnqueueFunc = Callable[[Any, str], Any]

# asynq's maxConcurrentAggregationChecks: passes in flight at once.
MAX_CONCURRENT_CHECKS = 3


class Aggregator(PeriodicComponent):
    name = "aggregator"

    def __init__(
        self,
        store: WorkerStore,
        queues: Sequence[str],
        clock: Clock,
        aggregate: GroupAggregatorFunc,
        enqueue: EnqueueFunc,
        *,
        grace_period: float = 60.0,
        max_delay: float = 0.0,
        max_size: int = 0,
        interval: float = 7.0,
        max_concurrent_checks: int = MAX_CONCURRENT_CHECKS,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.queues = list(queues)
        self.clock = clock
        self.aggregate = aggregate
        self.enqueue = enqueue
        self.grace_period = grace_period
        self.max_delay = max_delay
        self.max_size = max_size
        self.max_concurrent_checks = max(1, max_concurrent_checks)
        self.skipped_ticks = 0  # ticks skipped because every pass slot was busy

    # -- one pass ----------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Check every group of every queue; returns how many aggregated tasks were enqueued."""
        enqueued = 0
        first_error: Exception | None = None
        for queue in self.queues:
            try:
                groups = self.store.group_names(queue)
            except Exception as exc:
                first_error = first_error or exc
                log.warning("could not list the groups of queue %r: %s", queue, exc)
                continue
            for group in groups:
                try:
                    enqueued += self._check(queue, group)
                except Exception as exc:
                    first_error = first_error or exc
                    log.warning(
                        "aggregation check of group %r of queue %r failed: %s", group, queue, exc
                    )
        if first_error is not None:
            raise first_error
        return enqueued

    def _check(self, queue: str, group: str) -> int:
        """Stage ``group`` if it is ready, aggregate and enqueue it; 1 when a task was enqueued."""
        from queuecore.client import Task

        set_id = str(uuid.uuid4())
        staged = self.store.aggregation_check(
            queue,
            group,
            set_id,
            max_size=self.max_size,
            max_delay=int(self.max_delay),
            grace_period=int(self.grace_period),
            now=self.clock.now(),
        )
        if not staged:
            return 0
        msgs, _deadline = self.store.read_aggregation_set(queue, group, set_id)
        tasks = [
            Task(msg.type, bytes(msg.payload), headers=dict(msg.headers) or None) for msg in msgs
        ]
        try:
            aggregated = self.aggregate(group, tasks)
            self.enqueue(aggregated, queue)
        except Exception:
            log.exception(
                "could not aggregate group %r of queue %r (set %s); it will be reclaimed",
                group,
                queue,
                set_id,
            )
            return 0
        try:
            self.store.delete_aggregation_set(queue, group, set_id)
        except Exception as exc:
            # The aggregated task is enqueued; as in Go, only warn (the recoverer would put the
            # members back into the group once the set's deadline passes).
            log.warning(
                "could not delete aggregation set %s of group %r of queue %r: %s",
                set_id,
                group,
                queue,
                exc,
            )
        return 1

    # -- the loop: up to max_concurrent_checks passes in flight ----------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        backoff = Backoff(first=min(0.1, self.interval), cap=self.interval)
        if stop.wait(self.interval):  # asynq's ticker fires first after one interval
            return
        in_flight: set[concurrent.futures.Future[int]] = set()
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.max_concurrent_checks, thread_name_prefix="queuecore-aggregator"
        )
        try:
            while not stop.is_set():
                in_flight = {f for f in in_flight if not f.done()}
                delay = self.interval
                if len(in_flight) >= self.max_concurrent_checks:
                    self.skipped_ticks += 1
                    log.warning("max number of aggregation checks in flight; skipping this tick")
                else:
                    future = pool.submit(self.run_once)
                    in_flight.add(future)
                    # Wait for the pass up to one interval: a pass that ends in time decides the
                    # next delay (the back-off after a failure); a longer one keeps running while
                    # the next tick starts another.
                    done, _ = concurrent.futures.wait([future], timeout=self.interval)
                    if done:
                        delay = self._after_pass(future, backoff)
                    else:
                        future.add_done_callback(self._log_late_failure)
                        delay = 0.0  # the whole interval went by: the next tick is due now
                if stop.wait(delay):
                    return
        finally:
            # As asynq: shutting down waits for every pass in flight to end.
            pool.shutdown(wait=True)

    def _after_pass(self, future: concurrent.futures.Future[int], backoff: Backoff) -> float:
        error = future.exception()
        if error is None:
            backoff.reset()
            return self.interval
        delay = backoff.next_delay()
        if isinstance(error, RedisUnavailableError):
            log.warning("%s: Redis unavailable (%s); retrying in %.1fs", self.name, error, delay)
        else:
            log.error("%s failed; retrying in %.1fs", self.name, delay, exc_info=error)
        return delay

    def _log_late_failure(self, future: concurrent.futures.Future[int]) -> None:
        error = future.exception()
        if error is not None:
            log.error("%s: a pass that outlasted its tick failed", self.name, exc_info=error)
