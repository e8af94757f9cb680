"""Recoverer (spec §4.3 M2): tasks whose worker stopped extending their lease, stale sets.

A task is recovered once its lease expired more than ``cutoff`` seconds ago (30 s in asynq, for
clock skew): retried with "asynq: task lease expired", or archived when out of retries. Then
aggregation sets past their deadline give their tasks back to their groups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from queuecore.clock import Clock
from queuecore.errors import MalformedDataError
from queuecore.handlers import HandlerTask, LeaseExpiredError
from queuecore.rdb.worker import AckNotFoundError, WorkerStore
from queuecore.server.component import PeriodicComponent
from queuecore.server.config import RetryDelayFunc
from queuecore.server.policy import default_retry_delay, delay_seconds

log = logging.getLogger("queuecore.server.recoverer")


class Recoverer(PeriodicComponent):
    name = "recoverer"
    run_at_start = True

    def __init__(
        self,
        store: WorkerStore,
        queues: Sequence[str],
        clock: Clock,
        interval: float = 60.0,
        cutoff: float = 30.0,
        retry_delay: RetryDelayFunc | None = None,
        is_failure: Callable[[BaseException], bool] | None = None,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.queues = list(queues)
        self.clock = clock
        self.cutoff = cutoff
        self.retry_delay: RetryDelayFunc = retry_delay or default_retry_delay
        self.is_failure = is_failure or (lambda _error: True)

    def run_once(self) -> int:
        """Recover every lease-expired task, then reclaim stale aggregation sets."""
        recovered = 0
        for queue in self.queues:
            now = self.clock.now()
            try:
                expired = self.store.list_lease_expired(queue, now - self.cutoff, now)
            except MalformedDataError as exc:
                # A queue with a mistyped key is reported by the health findings; the others
                # are still recovered.
                log.error("recoverer: cannot recover queue %s: %s", queue, exc)
                continue
            for msg in expired:
                error = LeaseExpiredError()
                try:
                    if msg.retried >= msg.retry:
                        self.store.archive(msg, str(error), now)
                    else:
                        task = HandlerTask(msg, now, None)
                        delay = delay_seconds(self.retry_delay(msg.retried, error, task))
                        self.store.retry(
                            msg,
                            now + delay,
                            str(error),
                            is_failure=self.is_failure(error),
                            now=now,
                        )
                    recovered += 1
                except AckNotFoundError:
                    log.warning("recoverer: task %s in %s is no longer active", msg.id, queue)
        for queue in self.queues:
            self.store.reclaim_stale_aggregation_sets(queue, self.clock.now())
        return recovered
