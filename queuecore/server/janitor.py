"""Janitor (spec §4.3 M3): completed tasks whose retention ended are deleted, 100 at a time."""

from __future__ import annotations

from collections.abc import Sequence

from queuecore.clock import Clock
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import PeriodicComponent


class Janitor(PeriodicComponent):
    name = "janitor"

    def __init__(
        self,
        store: WorkerStore,
        queues: Sequence[str],
        clock: Clock,
        interval: float = 8.0,
        batch_size: int = 100,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.queues = list(queues)
        self.clock = clock
        self.batch_size = batch_size

    def run_once(self) -> int:
        deleted = 0
        for queue in self.queues:
            while True:
                count = self.store.delete_expired_completed(
                    queue, self.clock.now(), self.batch_size
                )
                deleted += count
                if count == 0:
                    break
        return deleted
