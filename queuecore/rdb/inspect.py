"""The Redis side of the Inspector: reads and actions over asynq's keys, returning raw records.

Decoding protobufs and building result objects is the Inspector's job; this module only knows
keys, scripts and commands. Per-queue work runs in ``inspect_*.lua`` scripts whose keys all carry
the queue's hash tag; the global registries (``asynq:queues``, ``servers``, ``workers``,
``schedulers``) are touched by separate plain commands, never inside those scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from queuecore import keys
from queuecore.errors import InvalidArgumentError
from queuecore.inspection import ClusterNodeInfo
from queuecore.names import decode_name, name_bytes
from queuecore.rdb.base import redis_errors
from queuecore.rdb.cluster import cluster_nodes
from queuecore.rdb.layout import LayoutProbe, probe_layout
from queuecore.rdb.poison import UnreadableRecordStore
from queuecore.rdb.settings import RedisSettings

# asynq's archive limits (spec §5): the trim keeps the newest cap-1 = 9 999 tasks for 90 days.
ARCHIVE_CAP = 10_000
ARCHIVE_MAX_AGE_SECONDS = 90 * 24 * 60 * 60
# asynq's memory-usage sampling (spec §5).
MEMORY_SAMPLE_SIZE = 20
MEMORY_GROUP_SAMPLE = 5


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One id of a page with what its record holds (``msg`` None when the record is gone)."""

    task_id: str
    msg: bytes | None
    result: bytes | None
    score: float | None


@dataclass(frozen=True, slots=True)
class TaskRecord:
    msg: bytes | None
    state: str
    result: bytes | None
    score: float | None


@dataclass(frozen=True, slots=True)
class BreakdownChunk:
    """What ``inspect_breakdown.lua`` counted in one window of a state container.

    ``total`` is the container's size (-1 for a key of a foreign type), ``read`` the ids in the
    window, ``skipped`` those without a readable TaskMessage, ``pairs`` each distinct
    (type, last error) of the window, as the stored bytes, with its count.
    """

    total: int
    read: int
    skipped: int
    pairs: tuple[tuple[bytes, bytes, int], ...]


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return decode_name(value)


def _bytes(value: bytes | str) -> bytes:
    return name_bytes(value) if isinstance(value, str) else value


# asynq keeps pending and active tasks in lists, every other state in a zset (spec §2).
_LIST_STATES = ("pending", "active")


def state_container(qname: str, state: str, group: str | None = None) -> tuple[str, str]:
    """The key holding ``qname``'s tasks in ``state`` and its Redis type ("list" or "zset").

    Aggregating tasks live in one zset per group, so that state needs ``group``.
    """
    if state == "aggregating":
        if not group:
            raise InvalidArgumentError("listing aggregating tasks needs a group")
        return keys.group_key(qname, group), "zset"
    return keys.state_key(qname, state), "list" if state in _LIST_STATES else "zset"


def _stats_keys(qname: str, today: str) -> list[str]:
    return [
        keys.pending_key(qname),
        keys.active_key(qname),
        keys.scheduled_key(qname),
        keys.retry_key(qname),
        keys.archived_key(qname),
        keys.completed_key(qname),
        keys.processed_key(qname, today),
        keys.failed_key(qname, today),
        keys.processed_total_key(qname),
        keys.failed_total_key(qname),
        keys.paused_key(qname),
        keys.all_groups(qname),
        keys.lease_key(qname),
    ]


# The queue keys inspect_current_stats.lua type-checks, by bit of its "mistyped" mask (paused
# takes any type, as asynq only asks whether it exists).
_STATS_KEY_NAMES = (
    "pending",
    "active",
    "scheduled",
    "retry",
    "archived",
    "completed",
    "processed:<today>",
    "failed:<today>",
    "processed",
    "failed",
    "",
    "groups",
    "lease",
)


def mistyped_key_names(mask: int) -> tuple[str, ...]:
    """The names (``pending``, ``lease``, ...) of the queue keys a stats mask marks mistyped."""
    return tuple(name for i, name in enumerate(_STATS_KEY_NAMES) if name and mask >> i & 1)


class InspectStore(UnreadableRecordStore):
    """Every Redis call the Inspector makes."""

    @classmethod
    def from_url(cls, url: str) -> InspectStore:
        return cls(RedisSettings.from_url(url).connect())

    @staticmethod
    def task_key(qname: str, task_id: str) -> str:
        """The name of a task's record, for errors that must say which key was bad."""
        return keys.task_key(qname, task_id)

    # -- queues ---------------------------------------------------------------------------------

    def queue_names(self) -> list[str]:
        with redis_errors():
            members: Any = self.client.smembers(keys.ALL_QUEUES)
            return sorted(_text(m) for m in members)

    def queue_exists(self, qname: str) -> bool:
        with redis_errors():
            return bool(self.client.sismember(keys.ALL_QUEUES, qname))

    def unregister_queue(self, qname: str) -> None:
        with redis_errors():
            self.client.srem(keys.ALL_QUEUES, qname)

    def current_stats(self, qname: str, today: str, group_bound: int) -> list[int]:
        return [int(v) for v in self._current_stats_call(qname, today, group_bound, None)]

    def current_stats_many(
        self, qnames: Sequence[str], today: str, group_bound: int
    ) -> list[list[int]]:
        """``current_stats`` of several queues in one round trip (one script call per queue)."""
        if not qnames:
            return []
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for qname in qnames:
                self._current_stats_call(qname, today, group_bound, pipe)
            return [[int(v) for v in row] for row in pipe.execute()]

    def _current_stats_call(self, qname: str, today: str, group_bound: int, client: Any) -> Any:
        args = [keys.task_key_prefix(qname), keys.group_key_prefix(qname), group_bound]
        if client is None:
            return self.run("inspect_current_stats", _stats_keys(qname, today), args)
        return self.scripts("inspect_current_stats", _stats_keys(qname, today), args, client)

    def memory_usage(self, qname: str) -> int | None:
        """asynq's sampled estimate; None where the server refuses MEMORY USAGE in scripts."""
        script_keys = [
            keys.active_key(qname),
            keys.pending_key(qname),
            keys.scheduled_key(qname),
            keys.retry_key(qname),
            keys.archived_key(qname),
            keys.completed_key(qname),
            keys.all_groups(qname),
        ]
        args = [
            keys.task_key_prefix(qname),
            MEMORY_SAMPLE_SIZE,
            MEMORY_GROUP_SAMPLE,
            keys.group_key_prefix(qname),
        ]
        try:
            return int(self.run("inspect_memory_usage", script_keys, args))
        except redis.ResponseError:
            return None

    def daily_stats(self, qname: str, dates: Sequence[str]) -> list[tuple[int, int]]:
        """(processed, failed) per UTC date; one MGET, since every key shares the queue's slot."""
        if not dates:
            return []
        names: list[str] = []
        for day in dates:
            names += [keys.processed_key(qname, day), keys.failed_key(qname, day)]
        with redis_errors():
            values = self.client.mget(names)
        numbers = [_int(v) for v in values]
        return [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers), 2)]

    def groups(self, qname: str) -> list[tuple[str, int]]:
        flat = self.run("inspect_groups", [keys.all_groups(qname)], [keys.group_key_prefix(qname)])
        return [(_text(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]

    def pause(self, qname: str, now: int) -> bool:
        with redis_errors():
            return bool(self.client.set(keys.paused_key(qname), now, nx=True))

    def unpause(self, qname: str) -> bool:
        with redis_errors():
            return bool(self.client.delete(keys.paused_key(qname)))

    def delete_queue_step(self, qname: str, *, force: bool, chunk: int) -> int:
        script_keys = [
            keys.pending_key(qname),
            keys.active_key(qname),
            keys.scheduled_key(qname),
            keys.retry_key(qname),
            keys.archived_key(qname),
            keys.lease_key(qname),
        ]
        args = ["1" if force else "0", keys.task_key_prefix(qname), chunk]
        return int(self.run("inspect_delete_queue", script_keys, args))

    # -- tasks ----------------------------------------------------------------------------------

    def page(
        self, qname: str, state: str, group: str | None, start: int, stop: int
    ) -> tuple[int, list[TaskRow]]:
        """Rows of the state's container from rank ``start`` to ``stop`` (inclusive; -1 = the
        end); active rows carry their lease expiry as ``score``.

        Lists are ranked from the oldest (right) end, as asynq pages them; rows come back
        oldest first. ``total`` is -1 when the key holds a foreign type.
        """
        container, kind = state_container(qname, state, group)
        with_lease = state == "active"
        flat = self.run(
            "inspect_list",
            [container, keys.lease_key(qname)],
            [kind, start, stop, keys.task_key_prefix(qname), "1" if with_lease else "0"],
        )
        total = int(flat[0])
        rows = [
            TaskRow(
                task_id=_text(flat[i]),
                msg=flat[i + 1] or None,
                result=flat[i + 2] or None,
                score=float(flat[i + 3]) if flat[i + 3] not in (b"", "", None) else None,
            )
            for i in range(1, len(flat), 4)
        ]
        if kind == "list":
            rows.reverse()
        return total, rows

    def container_size(self, qname: str, state: str, group: str | None) -> int:
        container, kind = state_container(qname, state, group)
        with redis_errors():
            try:
                if kind == "list":
                    return int(self.client.llen(container))
                return int(self.client.zcard(container))
            except redis.ResponseError:
                return 0

    def task_record(self, qname: str, task_id: str) -> TaskRecord | None:
        reply = self.run(
            "inspect_task_info",
            [keys.task_key(qname, task_id)],
            [task_id, keys.queue_key_prefix(qname)],
        )
        if reply is None:
            return None
        msg, state, result, score = reply
        return TaskRecord(
            msg=msg or None,
            state=_text(state or b""),
            result=result or None,
            score=float(score) if score else None,
        )

    def run_task(self, qname: str, task_id: str) -> int:
        return int(self.run("inspect_run_task", *self._run_task_call(qname, task_id)))

    def _run_task_call(self, qname: str, task_id: str) -> tuple[list[str], list[Any]]:
        return (
            [keys.task_key(qname, task_id), keys.pending_key(qname), keys.all_groups(qname)],
            [task_id, keys.queue_key_prefix(qname), keys.group_key_prefix(qname)],
        )

    def archive_task(self, qname: str, task_id: str, now: int) -> int:
        return int(self.run("inspect_archive_task", *self._archive_task_call(qname, task_id, now)))

    def _archive_task_call(self, qname: str, task_id: str, now: int) -> tuple[list[str], list[Any]]:
        return (
            [keys.task_key(qname, task_id), keys.archived_key(qname), keys.all_groups(qname)],
            [
                task_id,
                now,
                now - ARCHIVE_MAX_AGE_SECONDS,
                ARCHIVE_CAP,
                keys.queue_key_prefix(qname),
                keys.group_key_prefix(qname),
                keys.task_key_prefix(qname),
            ],
        )

    def delete_task(self, qname: str, task_id: str) -> int:
        return int(self.run("inspect_delete_task", *self._delete_task_call(qname, task_id)))

    def _delete_task_call(self, qname: str, task_id: str) -> tuple[list[str], list[Any]]:
        return (
            [keys.task_key(qname, task_id), keys.all_groups(qname)],
            [task_id, keys.queue_key_prefix(qname), keys.group_key_prefix(qname)],
        )

    def batch(self, action: str, qname: str, task_ids: Sequence[str], now: int) -> list[int]:
        """One single-task script per id, sent as one pipeline; codes as the single actions."""
        if not task_ids:
            return []
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for task_id in task_ids:
                if action == "run":
                    script_keys, args = self._run_task_call(qname, task_id)
                elif action == "archive":
                    script_keys, args = self._archive_task_call(qname, task_id, now)
                else:
                    script_keys, args = self._delete_task_call(qname, task_id)
                self.scripts(f"inspect_{action}_task", script_keys, args, pipe)
            return [int(code) for code in pipe.execute()]

    def run_all_chunk(
        self, qname: str, state: str, group: str | None, chunk: int
    ) -> tuple[int, int]:
        source, _ = state_container(qname, state, group)
        moved, skipped = self.run(
            "inspect_run_all",
            [source, keys.pending_key(qname), keys.all_groups(qname)],
            [keys.task_key_prefix(qname), chunk, group or ""],
        )
        return int(moved), int(skipped)

    def archive_all_chunk(
        self, qname: str, state: str, group: str | None, chunk: int, now: int
    ) -> tuple[int, int]:
        source, kind = state_container(qname, state, group)
        moved, skipped = self.run(
            "inspect_archive_all",
            [source, keys.archived_key(qname), keys.all_groups(qname)],
            [
                keys.task_key_prefix(qname),
                chunk,
                now,
                now - ARCHIVE_MAX_AGE_SECONDS,
                ARCHIVE_CAP,
                kind,
                group or "",
            ],
        )
        return int(moved), int(skipped)

    def delete_all_chunk(
        self, qname: str, state: str, group: str | None, chunk: int
    ) -> tuple[int, int]:
        source, kind = state_container(qname, state, group)
        deleted, skipped = self.run(
            "inspect_delete_all",
            [source, keys.all_groups(qname)],
            [keys.task_key_prefix(qname), chunk, kind, group or "", keys.queue_key_prefix(qname)],
        )
        return int(deleted), int(skipped)

    def update_payload(self, qname: str, task_id: str, old_msg: bytes, new_msg: bytes) -> int:
        return int(
            self.run("inspect_update_payload", [keys.task_key(qname, task_id)], [old_msg, new_msg])
        )

    def active_ids(self, qname: str) -> list[str]:
        with redis_errors():
            try:
                return [_text(v) for v in self.client.lrange(keys.active_key(qname), 0, -1)]
            except redis.ResponseError:
                return []

    def publish_cancel(self, task_id: str) -> None:
        with redis_errors():
            self.client.publish(keys.CANCEL_CHANNEL, task_id)

    def breakdown_chunk(
        self, qname: str, state: str, group: str | None, start: int, stop: int
    ) -> BreakdownChunk:
        """Counts by (type, last error) of ranks ``start``..``stop`` of the state's container
        (ranked as ``page`` ranks them), in one script call that sends back no payloads."""
        container, kind = state_container(qname, state, group)
        flat = self.run(
            "inspect_breakdown", [container], [kind, start, stop, keys.task_key_prefix(qname)]
        )
        return BreakdownChunk(
            total=int(flat[0]),
            read=int(flat[1]),
            skipped=int(flat[2]),
            pairs=tuple(
                (_bytes(flat[i]), _bytes(flat[i + 1]), int(flat[i + 2]))
                for i in range(3, len(flat), 3)
            ),
        )

    # -- servers and schedulers -----------------------------------------------------------------

    def _live_members(self, registry: str, now: int) -> list[str]:
        """Prune expired registry members as asynq's Inspector does, then list the live ones."""
        with redis_errors():
            self.client.zremrangebyscore(registry, "-inf", now - 1)
            members: Any = self.client.zrangebyscore(registry, now, "+inf")
            return [_text(m) for m in members]

    def server_records(self, now: int) -> list[bytes]:
        names = self._live_members(keys.ALL_SERVERS, now)
        if not names:
            return []
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.get(name)
            # A foreign key of another type under asynq:servers: is skipped, never a failed page.
            replies = pipe.execute(raise_on_error=False)
        return [v for v in replies if isinstance(v, bytes)]

    def worker_records(self, now: int) -> list[bytes]:
        names = self._live_members(keys.ALL_WORKERS, now)
        if not names:
            return []
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.hvals(name)
            replies = pipe.execute(raise_on_error=False)
        return [v for reply in replies if isinstance(reply, list) for v in reply]

    def scheduler_records(self, now: int) -> list[tuple[str, list[bytes]]]:
        """(scheduler id, its SchedulerEntry blobs in stored order) per live scheduler."""
        names = self._live_members(keys.ALL_SCHEDULERS, now)
        if not names:
            return []
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for name in names:
                pipe.lrange(name, 0, -1)
            replies = pipe.execute(raise_on_error=False)
        prefix = keys.ALL_SCHEDULERS + ":"
        return [
            (name.removeprefix(prefix).strip("{}"), list(reply))
            for name, reply in zip(names, replies, strict=True)
            if isinstance(reply, list)
        ]

    def scheduler_events(self, entry_id: str, start: int, stop: int) -> list[tuple[bytes, float]]:
        with redis_errors():
            try:
                reply: Any = self.client.zrevrange(
                    keys.scheduler_history_key(entry_id), start, stop, withscores=True
                )
                return [(bytes(member), float(score)) for member, score in reply]
            except redis.ResponseError:
                return []

    # -- layout ---------------------------------------------------------------------------------

    def layout_probe(
        self, *, max_queues: int, sample: int, scan_calls: int, scan_count: int
    ) -> LayoutProbe:
        """See ``queuecore.rdb.layout.probe_layout``."""
        return probe_layout(
            self,
            max_queues=max_queues,
            sample=sample,
            scan_calls=scan_calls,
            scan_count=scan_count,
        )

    # -- the server -----------------------------------------------------------------------------

    def info(self) -> tuple[dict[str, str], str]:
        """INFO of the node answering, parsed into ``field -> text`` plus the raw text."""
        with redis_errors():
            if self.is_cluster:
                node = self.client.get_default_node()  # type: ignore[union-attr]
                raw = self.client.execute_command("INFO", target_nodes=node)
            else:
                raw = self.client.execute_command("INFO")
        if isinstance(raw, dict):
            # Some client versions parse INFO themselves; keep a raw text form regardless.
            parsed = {str(k): str(v) for k, v in raw.items()}
            return parsed, "\r\n".join(f"{k}:{v}" for k, v in parsed.items())
        text = _text(raw)
        parsed = {}
        for line in text.splitlines():
            if not line or line.startswith("#") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            parsed[name] = value
        return parsed, text

    def cluster_locations(self, qnames: Sequence[str]) -> list[tuple[str, int, list[str]]]:
        """(queue, slot, node addresses) per queue; only meaningful on a cluster."""
        if not self.is_cluster:
            return []
        with redis_errors():
            result = []
            for qname in qnames:
                slot = int(self.client.keyslot(keys.pending_key(qname)))  # type: ignore[union-attr]
                nodes = self.client.nodes_manager.slots_cache.get(slot, [])  # type: ignore[union-attr]
                result.append((qname, slot, [f"{n.host}:{n.port}" for n in nodes]))
            return result

    def cluster_node_states(self) -> list[ClusterNodeInfo]:
        """Every cluster node and its state; empty when not a cluster or no node answers."""
        if not self.is_cluster:
            return []
        try:
            return cluster_nodes(self.client)  # type: ignore[arg-type]
        except redis.RedisError:
            return []


def _int(value: bytes | str | None) -> int:
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return 0
