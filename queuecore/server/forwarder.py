"""Forwarder (spec §4.3 M1): due scheduled and retry tasks go back to pending (or their group)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from queuecore.clock import Clock
from queuecore.errors import MalformedDataError
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import PeriodicComponent

log = logging.getLogger("queuecore.server.forwarder")


class Forwarder(PeriodicComponent):
    name = "forwarder"

    def __init__(
        self, store: WorkerStore, queues: Sequence[str], clock: Clock, interval: float = 5.0
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.queues = list(queues)
        self.clock = clock

    def run_once(self) -> int:
        """Forward every due task of every queue, 100 per script call; returns how many moved."""
        moved = 0
        for queue in self.queues:
            for state in ("scheduled", "retry"):
                while True:
                    try:
                        count = self.store.forward(queue, state, self.clock.now())
                    except MalformedDataError as exc:
                        # Reported by the health findings; the other queues still move.
                        log.error("forwarder: cannot forward %s of %s: %s", state, queue, exc)
                        break
                    moved += count
                    if count == 0:
                        break
        return moved
