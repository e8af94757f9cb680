"""The worker's Redis operations (spec §4.2-4.3): claim, acknowledge, heartbeat, maintenance.

Hot-path operations are built into a :class:`WorkerBatch` and sent in one pipeline (one round
trip for many acknowledgements plus the next claim). Every state change is one Lua script from
``lua/``; the batch sends them as EVALSHA and, when Redis has forgotten a script (restart,
SCRIPT FLUSH), loads it and re-sends only the commands that failed with NOSCRIPT — a command that
failed with NOSCRIPT never ran, so nothing is applied twice.

Registry keys (``asynq:servers``, ``asynq:workers``) are touched by plain commands outside the
per-server script, as Go does, so nothing here mixes slots in one script.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError, RedisClusterException

from queuecore import keys
from queuecore.clock import utc_date
from queuecore.errors import (
    MalformedDataError,
    QueueCoreError,
    RedisUnavailableError,
    TaskNotFoundError,
)
from queuecore.messages import (
    ServerInfo,
    TaskMessage,
    WorkerInfo,
    encode_task_message,
)
from queuecore.rdb import poison
from queuecore.rdb.base import redis_errors
from queuecore.rdb.failover import is_transient
from queuecore.rdb.maintenance import MaintenanceStore
from queuecore.rdb.wire import HotConnection, direct_client, send_commands

log = logging.getLogger("queuecore.rdb.worker")

MAX_INT64 = 9223372036854775807
STATS_TTL_SECONDS = 90 * 24 * 60 * 60
ARCHIVE_MAX_SIZE = 10_000
ARCHIVE_MAX_AGE_SECONDS = 90 * 24 * 60 * 60

# done.lua codes (per task), Go's three NOT FOUND steps told apart for the log.
_DONE_CODES = {0: "not in active", -1: "not in lease", -2: "task hash missing"}


class AckNotFoundError(TaskNotFoundError):
    """The task was no longer where an acknowledgement expected it (Go's ``NOT FOUND``).

    It happens when another worker or the recoverer took the task after its lease expired, or
    when a retried acknowledgement had in fact been applied before the connection dropped.
    """

    def __init__(self, queue: str, task_id: str, detail: str) -> None:
        super().__init__(queue, task_id)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class DoneEntry:
    """One task to acknowledge as done: its id and the unique lock it may hold ("" if none)."""

    task_id: str
    unique_key: str = ""


def stats_expiry(now: float) -> int:
    return int(now) + STATS_TTL_SECONDS


def _failure_keys(msg: TaskMessage, target: str, date: str) -> list[str]:
    """KEYS of retry.lua and archive.lua: the same slots, only the target zset differs."""
    q = msg.queue
    return [
        keys.task_key(q, msg.id),
        keys.active_key(q),
        keys.lease_key(q),
        target,
        keys.processed_key(q, date),
        keys.failed_key(q, date),
        keys.processed_total_key(q),
        keys.failed_total_key(q),
    ]


def _failed_copy(msg: TaskMessage, error: str, now: float, *, count_retry: bool) -> TaskMessage:
    # CopyFrom keeps unknown fields, which a re-encode must preserve (spec §3.2).
    updated = TaskMessage()
    updated.CopyFrom(msg)
    if count_retry:
        updated.retried += 1
    updated.error_msg = error
    updated.last_failed_at = int(now)
    return updated


class WorkerBatch:
    """Worker operations queued for one pipeline; ``execute()`` returns one result per call.

    A result is the operation's value, or the :class:`QueueCoreError` that operation met
    (for example :class:`AckNotFoundError`). Outcomes are per operation: one that met a lost
    connection or a transient refusal (a cluster node down, CLUSTERDOWN, TRYAGAIN, LOADING)
    gets a :class:`RedisUnavailableError` in place — it may or may not have been applied — while
    the others' results stand, so a caller re-sends only those. When nothing usable came back
    at all (no connection, the whole pipeline failed) ``execute()`` raises RedisUnavailableError.
    """

    def __init__(self, store: WorkerStore) -> None:
        self._store = store
        # (script name, keys, args, result decoder)
        self._calls: list[tuple[str, list[Any], list[Any], Any]] = []

    def __len__(self) -> int:
        return len(self._calls)

    def _add(self, name: str, keys_: list[Any], args: list[Any], decode: Any) -> int:
        self._calls.append((name, keys_, args, decode))
        return len(self._calls) - 1

    def dequeue(self, queue: str, lease_expiry: int, count: int, now: float | None = None) -> int:
        """Claim up to ``count`` pending tasks; the result is None when paused, else messages.

        Unreadable records met on the way are quarantined (``poison``); ``now`` is their
        archived score (the wall clock when not given).
        """
        now = time.time() if now is None else now
        return self._add(
            "dequeue",
            [
                keys.pending_key(queue),
                keys.paused_key(queue),
                keys.active_key(queue),
                keys.lease_key(queue),
                keys.archived_key(queue),
            ],
            [int(lease_expiry), keys.task_key_prefix(queue), int(count), int(now)],
            _decode_claimed(self._store, queue, now),
        )

    def done(self, queue: str, entries: Sequence[DoneEntry], now: float) -> int:
        """Delete successfully processed tasks; the result is a list (None = done, else error)."""
        keys_: list[Any] = [
            keys.active_key(queue),
            keys.lease_key(queue),
            keys.processed_key(queue, _date(now)),
            keys.processed_total_key(queue),
        ]
        args: list[Any] = [stats_expiry(now), MAX_INT64]
        for entry in entries:
            keys_.append(keys.task_key(queue, entry.task_id))
            if entry.unique_key:
                keys_.append(entry.unique_key)
            args.extend((entry.task_id, "1" if entry.unique_key else "0"))
        ids = [entry.task_id for entry in entries]

        def decode(codes: list[int]) -> list[QueueCoreError | None]:
            return [
                None if code == 1 else AckNotFoundError(queue, tid, _DONE_CODES.get(code, "?"))
                for tid, code in zip(ids, codes, strict=True)
            ]

        return self._add("done", keys_, args, decode)

    def mark_complete(self, msg: TaskMessage, now: float) -> int:
        q = msg.queue
        updated = TaskMessage()
        updated.CopyFrom(msg)
        updated.completed_at = int(now)
        keys_: list[Any] = [
            keys.active_key(q),
            keys.lease_key(q),
            keys.completed_key(q),
            keys.task_key(q, msg.id),
            keys.processed_key(q, _date(now)),
            keys.processed_total_key(q),
        ]
        if msg.unique_key:
            keys_.append(msg.unique_key)
        args = [
            msg.id,
            stats_expiry(now),
            int(now) + int(msg.retention),
            encode_task_message(updated),
            MAX_INT64,
        ]
        return self._add("mark_complete", keys_, args, None)

    def retry(
        self, msg: TaskMessage, retry_at: float, error: str, *, is_failure: bool, now: float
    ) -> int:
        q = msg.queue
        updated = _failed_copy(msg, error, now, count_retry=is_failure)
        date = _date(now)
        return self._add(
            "retry",
            _failure_keys(msg, keys.retry_key(q), date),
            [
                msg.id,
                encode_task_message(updated),
                int(retry_at),
                stats_expiry(now),
                "1" if is_failure else "0",
                MAX_INT64,
            ],
            None,
        )

    def archive(self, msg: TaskMessage, error: str, now: float) -> int:
        q = msg.queue
        updated = _failed_copy(msg, error, now, count_retry=False)
        date = _date(now)
        return self._add(
            "archive",
            _failure_keys(msg, keys.archived_key(q), date),
            [
                msg.id,
                encode_task_message(updated),
                int(now),
                int(now) - ARCHIVE_MAX_AGE_SECONDS,
                ARCHIVE_MAX_SIZE,
                stats_expiry(now),
                MAX_INT64,
                keys.task_key_prefix(q),
            ],
            None,
        )

    def requeue(self, msg: TaskMessage) -> int:
        q = msg.queue
        return self._add(
            "requeue",
            [keys.active_key(q), keys.lease_key(q), keys.pending_key(q), keys.task_key(q, msg.id)],
            [msg.id],
            None,
        )

    def execute(self) -> list[Any]:
        if not self._calls:
            return []
        with redis_errors():
            replies = self._send(range(len(self._calls)))
            missing = [i for i, r in enumerate(replies) if isinstance(r, NoScriptError)]
            if missing:
                for name in {self._calls[i][0] for i in missing}:
                    self._store.scripts.load(name)
                for i, reply in zip(missing, self._send(missing), strict=True):
                    replies[i] = reply
        results: list[Any] = []
        for (name, keys_, args, decode), reply in zip(self._calls, replies, strict=True):
            results.append(_result(name, keys_, args, decode, reply))
        if all(isinstance(result, RedisUnavailableError) for result in results):
            raise results[0]
        return results

    def _send(self, indexes: Iterable[int]) -> list[Any]:
        indexes = list(indexes)
        client = direct_client(self._store.client)
        if client is None:  # a cluster: its pipeline routes per node
            return self._send_pipeline(indexes)
        scripts = self._store.scripts
        commands = []
        for i in indexes:
            name, keys_, args, _ = self._calls[i]
            commands.append(("EVALSHA", scripts.get(name).sha, len(keys_), *keys_, *args))
        replies = self._store.hot_connection(client).send(commands)
        if replies is None:  # the connection failed: the pipeline's retry policy takes over
            return self._send_pipeline(indexes)
        refused = [k for k, r in enumerate(replies) if _is_refusal(r)]
        if refused:
            self._store.hot_connection(client).drop()  # it may talk to a demoted primary
            # A failover reply (READONLY, LOADING, ...) means that command did not run: the
            # failover pipeline sends exactly those again, finding the new primary.
            again = self._send_pipeline([indexes[k] for k in refused])
            for k, reply in zip(refused, again, strict=True):
                replies[k] = reply
        return replies

    def _send_pipeline(self, indexes: Iterable[int]) -> list[Any]:
        scripts = self._store.scripts
        pipe = self._store.client.pipeline(transaction=False)
        for i in indexes:
            name, keys_, args, _ = self._calls[i]
            scripts.queue(pipe, name, keys_, args)
        # A cluster pipeline leaves a node's connection error in place of that node's replies;
        # the commands other nodes answered stand (_result turns the failures into
        # RedisUnavailableError, so only those are sent again).
        replies: list[Any] = pipe.execute(raise_on_error=False)
        return replies


def _is_refusal(reply: Any) -> bool:
    return isinstance(reply, redis.ResponseError) and is_transient(reply)


def _result(name: str, keys_: list[Any], args: list[Any], decode: Any, reply: Any) -> Any:
    if isinstance(reply, Exception) and (
        is_transient(reply) or isinstance(reply, RedisClusterException)
    ):
        return RedisUnavailableError(f"{name}: {reply or type(reply).__name__}")
    if isinstance(reply, Exception) and not isinstance(reply, redis.ResponseError):
        return QueueCoreError(f"{name} failed: {type(reply).__name__}: {reply}")
    if isinstance(reply, redis.ResponseError):
        text = str(reply)
        mistyped = poison.queue_key_error(text)
        if mistyped is not None:
            return mistyped
        queue = _queue_of(str(keys_[0]))
        task_id = str(args[0]) if name != "dequeue" else ""
        if "NOT FOUND" in text:
            return AckNotFoundError(queue, task_id, f"{name}: {text}")
        return QueueCoreError(f"{name} failed for task {task_id} in queue {queue}: {text}")
    if decode is None:
        return reply
    return decode(reply)


def _queue_of(key: str) -> str:
    start = key.find("{")
    end = key.find("}", start)
    return key[start + 1 : end] if start >= 0 and end > start else key


def _decode_claimed(store: WorkerStore, queue: str, now: float) -> Any:
    def decode(reply: list[Any] | None) -> list[TaskMessage] | None:
        if reply is None:
            return None
        claimed, quarantined = reply
        store.poison.record_pairs(queue, quarantined, "pending")
        msgs, undecodable = poison.decode_pairs(queue, claimed, "a claim")
        if undecodable:
            # Claimed (active, leased) but not runnable: out of active at once, never run.
            store.quarantine(queue, undecodable, now)
        return msgs

    return decode


_day_cache: tuple[int, str] = (-1, "")


def _date(now: float) -> str:
    """The UTC day for the stats keys, cached because every acknowledgement needs it."""
    global _day_cache
    day = int(now) // 86400
    cached_day, text = _day_cache
    if cached_day != day:
        text = utc_date(now)
        _day_cache = (day, text)
    return text


class CancelSubscription:
    """A SUBSCRIBE to ``asynq:cancel``; :meth:`get` returns the next cancelled task id."""

    def __init__(self, client: Any) -> None:
        with redis_errors():
            self._pubsub = client.pubsub(ignore_subscribe_messages=True)
            self._pubsub.subscribe(keys.CANCEL_CHANNEL)

    def get(self, timeout: float) -> str | None:
        """The next cancelled task id, or None when ``timeout`` s pass without one."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            with redis_errors():
                # None also comes back for a (skipped) subscribe confirmation: keep waiting.
                message = self._pubsub.get_message(timeout=remaining)
            if message and message.get("type") == "message":
                data = message.get("data")
                return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
            if remaining <= 0 or time.monotonic() >= deadline:
                return None

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self._pubsub.close()


class WorkerStore(MaintenanceStore):
    """The Redis side of a worker server (spec §4.2-4.3)."""

    @classmethod
    def from_url(cls, url: str) -> WorkerStore:
        from queuecore.rdb.settings import RedisSettings

        return cls(RedisSettings.from_url(url).connect())

    def batch(self) -> WorkerBatch:
        return WorkerBatch(self)

    def hot_connection(self, client: redis.Redis) -> HotConnection:
        """The connection for batches on ``client`` (this store's own, never a cluster)."""
        hot = self._hot
        if hot is None:
            hot = self._hot = HotConnection(client)
        return hot

    _hot: HotConnection | None = None

    def _one(self, build: Any) -> Any:
        batch = self.batch()
        build(batch)
        (result,) = batch.execute()
        if isinstance(result, QueueCoreError):
            raise result
        return result

    # -- W1, W3-W7 as single calls (the processor batches them) --------------------------------

    def dequeue(
        self, queue: str, lease_expiry: int, count: int = 1, now: float | None = None
    ) -> list[TaskMessage] | None:
        """Claim up to ``count`` tasks of ``queue``; None when the queue is paused."""
        result: list[TaskMessage] | None = self._one(
            lambda b: b.dequeue(queue, lease_expiry, count, now)
        )
        return result

    def done(self, msg: TaskMessage, now: float) -> None:
        (error,) = self._one(lambda b: b.done(msg.queue, [DoneEntry(msg.id, msg.unique_key)], now))
        if error is not None:
            raise error

    def mark_complete(self, msg: TaskMessage, now: float) -> None:
        self._one(lambda b: b.mark_complete(msg, now))

    def retry(
        self, msg: TaskMessage, retry_at: float, error: str, *, is_failure: bool, now: float
    ) -> None:
        self._one(lambda b: b.retry(msg, retry_at, error, is_failure=is_failure, now=now))

    def archive(self, msg: TaskMessage, error: str, now: float) -> None:
        self._one(lambda b: b.archive(msg, error, now))

    def requeue(self, msg: TaskMessage) -> None:
        self._one(lambda b: b.requeue(msg))

    def write_result(self, queue: str, task_id: str, data: bytes) -> None:
        """HSET the handler's result, like asynq's ResultWriter (no state check)."""
        with redis_errors():
            self.client.hset(keys.task_key(queue, task_id), "result", data)

    # -- waiting for work without a wake-up signal from clients --------------------------------

    def wait_for_pending(self, queue: str, timeout: float) -> bool:
        """Block until ``queue``'s pending list is non-empty (or ``timeout`` s pass).

        BLMOVE from the list to its own right end hands back the oldest ID and puts it straight
        back where it was: the list is unchanged, no state moves, and the call wakes the moment
        any client (a Go one included) pushes a task. The claim itself stays the dequeue script.
        """
        key = keys.pending_key(queue)
        timeout = self._block_time(timeout)
        with redis_errors():
            try:
                reply = self.client.execute_command("BLMOVE", key, key, "RIGHT", "RIGHT", timeout)
            except redis.ResponseError as exc:
                if not str(exc).startswith("WRONGTYPE"):
                    raise
                raise MalformedDataError(key, "queue key holds a foreign type") from exc
        return reply is not None

    def wait_and_dequeue(
        self, queue: str, timeout: float, lease_expiry: int, count: int, now: float | None = None
    ) -> list[TaskMessage] | None:
        """:meth:`wait_for_pending`, then :meth:`dequeue`, in one round trip.

        Both commands go out together; Redis runs the dequeue script the moment the BLMOVE
        returns (a client's queued commands wait while it is blocked), so a task pushed by any
        client is claimed — by the unchanged dequeue script: paused check, lease, state — without
        a second round trip. ``lease_expiry`` is computed before blocking, so a lease may be up to
        ``timeout`` s shorter than a fresh one; it is never longer. Returns what dequeue returns.
        """
        client = direct_client(self.client)
        timeout = self._block_time(timeout)
        if client is not None:
            batch = self.batch()
            batch.dequeue(queue, lease_expiry, count, now)
            name, keys_, args, decode = batch._calls[0]
            pending = keys.pending_key(queue)
            replies = send_commands(
                client,
                [
                    ("BLMOVE", pending, pending, "RIGHT", "RIGHT", timeout),
                    ("EVALSHA", self.scripts.get(name).sha, len(keys_), *keys_, *args),
                ],
            )
            refusal = replies[1] if replies is not None else None
            if isinstance(refusal, redis.ResponseError):
                mistyped = poison.queue_key_error(str(refusal))
                if mistyped is not None:
                    raise mistyped
            elif replies is not None:
                result = _result(name, keys_, args, decode, replies[1])
                if isinstance(result, QueueCoreError):
                    raise result
                messages: list[TaskMessage] | None = result
                return messages
        # A cluster client, a lost connection, NOSCRIPT or a failover reply: the plain calls.
        self.wait_for_pending(queue, timeout)
        return self.dequeue(queue, lease_expiry, count, now)

    def _block_time(self, timeout: float) -> float:
        """``timeout`` cut to half the socket timeout: a blocked command must come back before
        its read times out, or a quiet queue would look like a Redis that hangs."""
        pool = getattr(self.client, "connection_pool", None)
        limit = pool.connection_kwargs.get("socket_timeout") if pool is not None else None
        return min(timeout, limit / 2) if limit else timeout

    def is_paused(self, queue: str) -> bool:
        with redis_errors():
            return bool(self.client.exists(keys.paused_key(queue)))

    # -- W2 heartbeat ---------------------------------------------------------------------------

    def extend_leases(self, leases: dict[str, list[str]], expiry: int) -> None:
        """ZADD XX the lease of each in-flight task (only IDs still in the lease zset)."""
        if not leases:
            return
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for queue, ids in leases.items():
                if ids:
                    pipe.zadd(keys.lease_key(queue), dict.fromkeys(ids, int(expiry)), xx=True)
            pipe.execute()

    def write_server_state(
        self,
        info: ServerInfo,
        workers: Sequence[WorkerInfo],
        *,
        ttl: int,
        now: float,
    ) -> None:
        server_key = keys.server_info_key(info.host, info.pid, info.server_id)
        workers_key = keys.workers_key(info.host, info.pid, info.server_id)
        expires = int(now) + int(ttl)
        args: list[Any] = [int(ttl), info.SerializeToString()]
        for worker in workers:
            args.extend((worker.task_id, worker.SerializeToString()))
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.zadd(keys.ALL_SERVERS, {server_key: expires})
            pipe.zadd(keys.ALL_WORKERS, {workers_key: expires})
            pipe.execute()
            self.scripts("write_server_state", [server_key, workers_key], args)

    def clear_server_state(self, host: str, pid: int, server_id: str) -> None:
        server_key = keys.server_info_key(host, pid, server_id)
        workers_key = keys.workers_key(host, pid, server_id)
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.zrem(keys.ALL_SERVERS, server_key)
            pipe.zrem(keys.ALL_WORKERS, workers_key)
            pipe.execute()
            self.scripts("clear_server_state", [server_key, workers_key], [])

    # -- W8 cancellation ------------------------------------------------------------------------

    def subscribe_cancel(self) -> CancelSubscription:
        return CancelSubscription(self.client)
