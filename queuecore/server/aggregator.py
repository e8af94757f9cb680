"""Group aggregator (spec §4.3 M4): ready groups become one task through a user function.

``aggregate(group, tasks) -> Task`` receives the member tasks (queuecore ``Task`` objects with
type, payload and headers, as asynq passes ``*Task``) and returns the task to enqueue; it goes
into the same queue through the normal client, then the members are deleted. If the function or
the enqueue fails the staged set stays, and the recoverer puts its tasks back into the group once
the set's 2-minute deadline passes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from queuecore.clock import Clock
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import PeriodicComponent
from queuecore.server.config import GroupAggregatorFunc

log = logging.getLogger("queuecore.server.aggregator")

# (task to enqueue, queue name) -> anything; the server passes Client.enqueue.
EnqueueFunc = Callable[[Any, str], Any]


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

    def run_once(self) -> int:
        """Check every group of every queue; returns how many aggregated tasks were enqueued."""
        from queuecore.client import Task

        enqueued = 0
        for queue in self.queues:
            for group in self.store.group_names(queue):
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
                    continue
                msgs, _deadline = self.store.read_aggregation_set(queue, group, set_id)
                tasks = [
                    Task(msg.type, bytes(msg.payload), headers=dict(msg.headers) or None)
                    for msg in msgs
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
                    continue
                self.store.delete_aggregation_set(queue, group, set_id)
                enqueued += 1
        return enqueued
