"""The scheduler's Redis writes: entries, enqueue history, and the tick claims (spec §2, §5).

Layout (asynq's: Go's ``Inspector.SchedulerEntries()`` and ``ListSchedulerEnqueueEvents`` read it):

* ``asynq:schedulers`` ZSET of entry-list key names, score = expiry (now + 2x heartbeat);
* ``asynq:schedulers:{<schedulerID>}`` LIST of SchedulerEntry protobufs, TTL 2x heartbeat;
* ``asynq:scheduler_history:<entryID>`` ZSET of SchedulerEnqueueEvent protobufs, at most 1000.

The global registry is touched by plain commands, never inside a script with other keys, as Go does.

Beyond asynq: ``asynq:scheduler_tick:<identity>:<unix>`` (``keys.scheduler_tick_lock_key``) is a
``SET NX EX`` claim on one tick of one periodic task, so that several of our schedulers running the
same entries enqueue each tick once. Go neither writes nor reads these keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from queuecore import keys
from queuecore.rdb.base import RedisStore, redis_errors

# asynq's maxEvents: history kept per entry.
MAX_HISTORY_EVENTS = 1000


class SchedulerStore(RedisStore):
    """Redis calls of one scheduler process."""

    def write_entries(
        self, scheduler_id: str, entries: Sequence[bytes], *, ttl_seconds: int, now_unix: int
    ) -> None:
        """Register the scheduler until now+TTL and replace its entry list (Go's beat)."""
        key = keys.scheduler_entries_key(scheduler_id)
        with redis_errors():
            self.client.zadd(keys.ALL_SCHEDULERS, {key: now_unix + ttl_seconds})
        self.run("scheduler_write_entries", [key], [int(ttl_seconds), *entries])

    def record_enqueue_event(self, entry_id: str, event: bytes, *, enqueued_unix: int) -> None:
        """Add one enqueue to the entry's history, keeping the newest 1000 (Go's trim-then-add)."""
        self.run(
            "scheduler_record_event",
            [keys.scheduler_history_key(entry_id)],
            [int(enqueued_unix), event, MAX_HISTORY_EVENTS],
        )

    def clear_entries(self, scheduler_id: str) -> None:
        """Unregister the scheduler: ZREM from the registry, then DEL its list (Go's order)."""
        key = keys.scheduler_entries_key(scheduler_id)
        with redis_errors():
            self.client.zrem(keys.ALL_SCHEDULERS, key)
            self.client.delete(key)

    def clear_history(self, entry_ids: Sequence[str]) -> None:
        """Delete the enqueue history of entries, as Go's scheduler does on shutdown."""
        if not entry_ids:
            return
        with redis_errors():
            # One key per DEL: history keys carry no hash tag, so they may sit on different nodes.
            for entry_id in entry_ids:
                self.client.delete(keys.scheduler_history_key(entry_id))

    def claim_tick(
        self, entry_identity: str, tick_unix: int, *, owner: str, ttl_seconds: int
    ) -> bool:
        """Take the one claim on a tick; False when another scheduler already took it."""
        key = keys.scheduler_tick_lock_key(entry_identity, int(tick_unix))
        with redis_errors():
            return bool(self.client.set(key, owner, nx=True, ex=max(1, int(ttl_seconds))))
