"""The Redis calls of the background duties: forwarder (M1), recoverer (M2), janitor (M3) and
the group aggregator (M4), spec §4.3. ``WorkerStore`` (``rdb.worker``) inherits them, so a
server's components share one store and one connection pool."""

from __future__ import annotations

import logging
import time

from queuecore import keys
from queuecore.errors import MalformedDataError
from queuecore.messages import TaskMessage, decode_task_message
from queuecore.names import decode_name
from queuecore.rdb import poison
from queuecore.rdb.base import redis_errors

log = logging.getLogger("queuecore.rdb.worker")

# How long a staged aggregation set may wait for its handler before it is reclaimed.
AGGREGATION_SET_TIMEOUT_SECONDS = 120


class MaintenanceStore(poison.QuarantineStore):
    # -- M1 forwarder, M2 recoverer, M3 janitor ---------------------------------------------------

    def forward(self, queue: str, state: str, now: float) -> int:
        """Move up to 100 due tasks from the ``scheduled`` or ``retry`` zset; returns the count."""
        if state not in ("scheduled", "retry"):
            raise ValueError(f"cannot forward from {state!r}")
        taken, quarantined = self._run_queue_script(
            "forward",
            [keys.state_key(queue, state), keys.pending_key(queue), keys.archived_key(queue)],
            [
                int(now),
                keys.task_key_prefix(queue),
                int(now * 1_000_000_000),
                keys.group_key_prefix(queue),
            ],
        )
        self.poison.record_pairs(queue, quarantined, state)
        return int(taken)

    def list_lease_expired(
        self, queue: str, cutoff: float, now: float | None = None
    ) -> list[TaskMessage]:
        """The active tasks whose lease expired before ``cutoff``; unreadable ones quarantined."""
        now = time.time() if now is None else now
        claimed, quarantined = self._run_queue_script(
            "list_lease_expired",
            [keys.lease_key(queue), keys.active_key(queue), keys.archived_key(queue)],
            [int(cutoff), keys.task_key_prefix(queue), int(now)],
        )
        self.poison.record_pairs(queue, quarantined, "lease")
        msgs, undecodable = poison.decode_pairs(queue, claimed, "lease recovery")
        if undecodable:
            self.quarantine(queue, undecodable, now)
        return msgs

    def delete_expired_completed(self, queue: str, now: float, batch_size: int = 100) -> int:
        deleted = self.run(
            "delete_expired_completed",
            [keys.completed_key(queue)],
            [int(now), keys.task_key_prefix(queue), int(batch_size)],
        )
        return int(deleted)

    # -- M4 aggregation -------------------------------------------------------------------------

    def group_names(self, queue: str) -> list[str]:
        with redis_errors():
            members = self.client.smembers(keys.all_groups(queue))
        return sorted(decode_name(m) for m in members)

    def aggregation_check(
        self,
        queue: str,
        group: str,
        set_id: str,
        *,
        max_size: int,
        max_delay: int,
        grace_period: int,
        now: float,
    ) -> bool:
        staged = self.run(
            "aggregation_check",
            [
                keys.group_key(queue, group),
                keys.aggregation_set_key(queue, group, set_id),
                keys.all_aggregation_sets(queue),
                keys.all_groups(queue),
            ],
            [
                int(max_size),
                int(max_delay),
                int(grace_period),
                int(now) + AGGREGATION_SET_TIMEOUT_SECONDS,
                int(now),
                group,
            ],
        )
        return int(staged) == 1

    def read_aggregation_set(
        self, queue: str, group: str, set_id: str
    ) -> tuple[list[TaskMessage], int | None]:
        """The staged messages and the set's deadline (Unix s, None when it has none)."""
        set_key = keys.aggregation_set_key(queue, group, set_id)
        reply = self.run(
            "read_aggregation_set",
            [set_key, keys.all_aggregation_sets(queue)],
            [keys.task_key_prefix(queue)],
        )
        deadline = int(float(reply[0])) if reply and reply[0] is not None else None
        msgs = []
        for data in reply[1:]:
            try:
                msgs.append(decode_task_message(data, key=set_key))
            except MalformedDataError as exc:
                log.error("skipping undecodable aggregating task in %s: %s", queue, exc)
        return msgs, deadline

    def delete_aggregation_set(self, queue: str, group: str, set_id: str) -> None:
        self.run(
            "delete_aggregation_set",
            [keys.aggregation_set_key(queue, group, set_id), keys.all_aggregation_sets(queue)],
            [keys.task_key_prefix(queue)],
        )

    def reclaim_stale_aggregation_sets(self, queue: str, now: float) -> None:
        self.run("reclaim_stale_aggregation_sets", [keys.all_aggregation_sets(queue)], [int(now)])
