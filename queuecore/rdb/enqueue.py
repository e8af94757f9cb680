"""The client's Redis writes: enqueue, schedule and add-to-group, plain or unique (spec §4.1).

Each write is one pipeline round trip: ``SADD asynq:queues <q>`` (a plain command, because the
global registry never shares a script with per-queue keys) followed by one EVALSHA per task. The
client decides everything (message bytes, state, scores, lock TTL); this module only sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import NoScriptError

from queuecore import keys
from queuecore.errors import (
    DuplicateTaskError,
    MalformedDataError,
    QueueCoreError,
    RedisUnavailableError,
    TaskIdConflictError,
)
from queuecore.rdb.base import RedisStore, redis_errors
from queuecore.rdb.failover import RedisClient, is_transient
from queuecore.rdb.settings import RedisSettings
from queuecore.rdb.wire import HotConnection, direct_client
from queuecore.taskinfo import TaskState

log = logging.getLogger("queuecore.rdb.enqueue")

# Replies of the enqueue scripts (the same numbers as asynq's).
ENQUEUED = 1
ID_CONFLICT = 0
DUPLICATE = -1

# A batch larger than this is sent in several round trips, to bound the pipeline's buffers.
MAX_PIPELINE_TASKS = 10_000


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskWrite:
    """One task, fully decided by the client: what to store, where, and when.

    ``score`` is the integer Unix-second zset score: the process-at time of a scheduled task,
    the time a task joined its group for an aggregating one; unused for pending.
    ``unique_ttl`` is the lock TTL in whole seconds (>= 1) when ``unique_key`` is set.
    """

    queue: str
    task_id: str
    message: bytes
    state: TaskState
    now_ns: int
    score: int = 0
    group: str = ""
    unique_key: str = ""
    unique_ttl: int = 0


def _script_call(write: TaskWrite) -> tuple[str, list[str], list[Any]]:
    """The script, KEYS and ARGV of one write (the header of each .lua file documents them)."""
    q, tid = write.queue, write.task_id
    task_key = keys.task_key(q, tid)
    unique = bool(write.unique_key)
    if write.state is TaskState.PENDING:
        if unique:
            return (
                "enqueue_unique",
                [write.unique_key, task_key, keys.pending_key(q)],
                [tid, write.unique_ttl, write.message, write.now_ns],
            )
        return "enqueue", [task_key, keys.pending_key(q)], [write.message, tid, write.now_ns]
    if write.state is TaskState.SCHEDULED:
        if unique:
            return (
                "schedule_unique",
                [write.unique_key, task_key, keys.scheduled_key(q)],
                [tid, write.unique_ttl, write.score, write.message],
            )
        return "schedule", [task_key, keys.scheduled_key(q)], [write.message, write.score, tid]
    if write.state is TaskState.AGGREGATING:
        group_keys = [task_key, keys.group_key(q, write.group), keys.all_groups(q)]
        args: list[Any] = [write.message, tid, write.score, write.group]
        if unique:
            return "add_to_group_unique", [*group_keys, write.unique_key], [*args, write.unique_ttl]
        return "add_to_group", group_keys, args
    raise ValueError(f"a client cannot write a task in state {write.state}")


def _outcome(write: TaskWrite, reply: Any) -> QueueCoreError | None:
    """Turn one script reply into None (written) or the error the caller should see."""
    if isinstance(reply, redis.ConnectionError | redis.TimeoutError):
        # On a cluster each node's part of the pipeline succeeds or fails on its own.
        return RedisUnavailableError(str(reply) or type(reply).__name__)
    if isinstance(reply, redis.ResponseError):
        try:
            with redis_errors():
                raise reply
        except RedisUnavailableError as exc:
            return exc
        except redis.ResponseError:
            pass
        text = str(reply)
        if text.startswith("WRONGTYPE"):
            return MalformedDataError(keys.task_key(write.queue, write.task_id), text)
        return QueueCoreError(f"Redis refused the write of task {write.task_id}: {text}")
    if reply == ENQUEUED:
        return None
    if reply == ID_CONFLICT:
        return TaskIdConflictError(write.queue, write.task_id)
    if reply == DUPLICATE:
        return DuplicateTaskError(write.queue, write.unique_key)
    return QueueCoreError(f"unexpected reply {reply!r} to the write of task {write.task_id}")


class EnqueueStore(RedisStore):
    """Writes new tasks. Every call is one round trip (per MAX_PIPELINE_TASKS tasks)."""

    def __init__(self, client: RedisClient, *, owns_connection: bool = False) -> None:
        super().__init__(client)
        self.owns_connection = owns_connection
        # Enqueues reuse one connection set aside from the pool (see rdb.wire); None on a cluster.
        direct = direct_client(client)
        self._hot = HotConnection(direct) if direct is not None else None

    @classmethod
    def open(cls, target: RedisSettings | str | Any) -> EnqueueStore:
        """A store on a URL, a :class:`RedisSettings`, or an existing redis-py client.

        A connection opened here is closed by :meth:`close`; a caller's client is left open.
        """
        if isinstance(target, str):
            target = RedisSettings.from_url(target)
        if isinstance(target, RedisSettings):
            return cls(target.connect(), owns_connection=True)
        if not hasattr(target, "pipeline") or not hasattr(target, "evalsha"):
            raise TypeError(
                "expected a Redis URL, RedisSettings or redis-py client, "
                f"got {type(target).__name__}"
            )
        return cls(target, owns_connection=False)

    def close(self) -> None:
        if self._hot is not None:
            self._hot.drop()
        if self.owns_connection:
            self.client.close()

    def write(self, write: TaskWrite) -> None:
        """Write one task; raises DuplicateTaskError or TaskIdConflictError when refused."""
        call = _script_call(write)
        sent: list[Any] | None = None
        if self._hot is not None:
            sent = self._send_hot([write.queue], [call])
            # The common outcome (queue registered, task written), settled at once.
            if sent is not None and sent[1] == ENQUEUED and not isinstance(sent[0], Exception):
                return
        error = _outcome(write, self._send([write], [call], sent=sent)[0])
        if error is not None:
            raise error

    def write_many(self, writes: Sequence[TaskWrite]) -> list[QueueCoreError | None]:
        """Write every task; returns, per task, None (written) or the error that refused it.

        Tasks are independent: a refused task does not stop the others. Queue registration is
        sent in the same round trip, every time (see :func:`_send`).
        """
        outcomes: list[QueueCoreError | None] = []
        for start in range(0, len(writes), MAX_PIPELINE_TASKS):
            chunk = writes[start : start + MAX_PIPELINE_TASKS]
            calls = [_script_call(w) for w in chunk]
            sent = None
            if self._hot is not None:
                sent = self._send_hot(list(dict.fromkeys(w.queue for w in chunk)), calls)
            replies = self._send(chunk, calls, sent=sent)
            outcomes.extend(_outcome(w, r) for w, r in zip(chunk, replies, strict=True))
        return outcomes

    def _send(
        self,
        writes: Sequence[TaskWrite],
        calls: list[tuple[str, list[str], list[Any]]],
        *,
        sent: list[Any] | None,
    ) -> list[Any]:
        """Finish one round trip of ``writes``; returns the script replies.

        ``sent`` holds the replies of :meth:`_send_hot` for the same commands, or None when that
        path was not taken or failed: then the SADD and the scripts go through redis-py's
        failover pipeline. A command refused for a failover reason did not run, and the others
        are idempotent here (SADD; an enqueue sent twice is refused as an ID conflict, never
        doubled), so resending them all is safe.

        Go v0.25+ caches "queue already registered" per Client and skips the SADD, so after an
        Inspector DeleteQueue a long-lived Go client writes tasks into a queue that no longer
        appears in ``asynq:queues`` (spec §4.4 I9, §8.21). We always send the SADD instead: it
        rides in the same round trip, so it costs almost nothing and the queue can never vanish.
        """
        queues = list(dict.fromkeys(w.queue for w in writes))
        if sent is not None and any(
            isinstance(r, redis.ResponseError) and is_transient(r) for r in sent
        ):
            assert self._hot is not None
            self._hot.drop()  # it may talk to a demoted primary; the pipeline finds the new one
            sent = None
        replies = sent
        if replies is None:
            with redis_errors():
                pipe = self.client.pipeline(transaction=False)
                pipe.sadd(keys.ALL_QUEUES, *queues)
                for name, script_keys, args in calls:
                    self.scripts.queue(pipe, name, script_keys, args)
                replies = pipe.execute(raise_on_error=False)
        script_replies = list(replies[1:])
        if isinstance(replies[0], Exception):
            self._registration_failed(queues, replies[0], script_replies)
        forgotten = [i for i, r in enumerate(script_replies) if isinstance(r, NoScriptError)]
        if forgotten:
            # Redis restarted or ran SCRIPT FLUSH: reload once and resend only those calls.
            # A NOSCRIPT reply means the script never ran, so resending writes nothing twice.
            with redis_errors():
                for name in {calls[i][0] for i in forgotten}:
                    self.scripts.load(name)
                pipe = self.client.pipeline(transaction=False)
                for i in forgotten:
                    name, script_keys, args = calls[i]
                    self.scripts.queue(pipe, name, script_keys, args)
                for i, reply in zip(forgotten, pipe.execute(raise_on_error=False), strict=True):
                    script_replies[i] = reply
        return script_replies

    @staticmethod
    def _registration_failed(queues: list[str], error: Exception, replies: list[Any]) -> None:
        """The SADD to ``asynq:queues`` failed (on a cluster, one node holds it for everyone).

        A task whose script ran is written; an error for it would make the caller enqueue it
        again — a duplicate. So the batch fails only when no script got through either; else
        the queue stays unregistered until the next enqueue to it, and we say so.
        """
        landed = [r for r in replies if not isinstance(r, Exception) or not is_transient(r)]
        if not landed:
            with redis_errors():
                raise error
        log.warning(
            "tasks written, but registering queue(s) %s in asynq:queues failed (%s); "
            "the next enqueue registers them again",
            ", ".join(queues),
            error,
        )

    def _send_hot(
        self, queues: list[str], calls: list[tuple[str, list[str], list[Any]]]
    ) -> list[Any] | None:
        """The SADD and the scripts without redis-py's Pipeline (see queuecore.rdb.wire).

        One reply (or error) per command; None when the connection failed, and then nothing
        needs undoing (see :meth:`_send`). Only for a non-cluster client.
        """
        assert self._hot is not None
        commands: list[tuple[Any, ...]] = [("SADD", keys.ALL_QUEUES, *queues)]
        for name, script_keys, args in calls:
            sha = self.scripts.get(name).sha
            commands.append(("EVALSHA", sha, len(script_keys), *script_keys, *args))
        try:
            return self._hot.send(commands)
        except Exception:
            # Only a connection-level failure is expected here, and wire turns that into None;
            # anything else keeps the mapping every rdb call has.
            with redis_errors():
                raise
