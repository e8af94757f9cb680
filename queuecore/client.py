"""The Client: puts tasks into queues exactly as asynq's Go client does (spec §4.1).

``Task`` carries a type, a payload and optional defaults for every asynq option; ``Client.enqueue``
takes the same options as keyword arguments, which override the task's. What gets written is
decided by :func:`plan_enqueue`, a pure function of (task, options, now); ``queuecore.rdb.enqueue``
only sends it, in one round trip.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, MISSING, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self, overload

from queuecore import keys
from queuecore.clock import SYSTEM_CLOCK, Clock, from_unix
from queuecore.errors import BatchEnqueueError, InvalidArgumentError, QueueCoreError
from queuecore.messages import TaskMessage, encode_task_message
from queuecore.rdb.enqueue import EnqueueStore, TaskWrite
from queuecore.rdb.settings import RedisSettings
from queuecore.taskinfo import TaskInfo, TaskState

__all__ = [
    "DEFAULT_MAX_RETRY",
    "DEFAULT_QUEUE",
    "DEFAULT_TIMEOUT",
    "Client",
    "EnqueueOptions",
    "EnqueuePlan",
    "Task",
    "plan_enqueue",
]

DEFAULT_QUEUE = "default"
"""asynq's queue when none is given."""
DEFAULT_MAX_RETRY = 25
"""asynq's MaxRetry default: 26 attempts in all."""
DEFAULT_TIMEOUT = timedelta(minutes=30)
"""Stored as the timeout when neither a timeout nor a deadline is given (asynq's default)."""

Duration = timedelta | int | float
"""A timedelta, or a number of seconds."""
Moment = datetime | int | float
"""A timezone-aware datetime, or Unix seconds."""

_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True, kw_only=True, slots=True)
class EnqueueOptions:
    """asynq's enqueue options in snake_case; ``None`` means "not given".

    * ``queue``: queue name, non-blank (default ``"default"``).
    * ``max_retry``: retries after the first attempt (default 25; negative means 0).
    * ``timeout``: how long one attempt may run; truncated to whole seconds. When neither
      ``timeout`` (or a zero one) nor ``deadline`` is given, 30 minutes is stored.
    * ``deadline``: the time by which processing must finish.
    * ``process_in`` / ``process_at``: run later; give one or the other.
    * ``unique``: hold a lock on (queue, type, payload) for this long (>= 1 s); a second task
      with the same type and payload is refused as a duplicate while it is held.
    * ``task_id``: a non-blank id instead of a random UUIDv4; reusing one that exists in any
      state is refused as an ID conflict.
    * ``retention``: keep the task as ``completed`` this long after success (default: delete).
    * ``group``: add the task to this group, to be aggregated (immediate tasks only, as in Go).
    * ``headers``: string metadata (asynq v0.26 headers).
    """

    queue: str | None = None
    max_retry: int | None = None
    timeout: Duration | None = None
    deadline: Moment | None = None
    process_in: Duration | None = None
    process_at: Moment | None = None
    unique: Duration | None = None
    task_id: str | None = None
    retention: Duration | None = None
    group: str | None = None
    headers: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.process_in is not None and self.process_at is not None:
            raise InvalidArgumentError("give process_in or process_at, not both")

    def over(self, base: EnqueueOptions) -> EnqueueOptions:
        """These options laid over ``base``: a value given here wins; headers merge per key."""
        merged = {f.name: getattr(base, f.name) for f in fields(self)}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                merged[f.name] = value
        # process_in and process_at are one choice ("when"); a choice here replaces base's.
        if self.process_in is not None or self.process_at is not None:
            merged["process_in"], merged["process_at"] = self.process_in, self.process_at
        if base.headers and self.headers:
            merged["headers"] = {**base.headers, **self.headers}
        return EnqueueOptions(**merged)


_NO_OPTIONS = EnqueueOptions()


@dataclass(frozen=True)
class Task:
    """A unit of work: a type name, an opaque payload, and default enqueue options.

    ``payload=None`` (the default) is Go's nil payload and ``b""`` an empty one; both store no
    payload bytes, but their unique-lock keys differ exactly as in Go (spec §2 notes).
    Options (see :class:`EnqueueOptions`) are checked here, so a bad task fails early.
    """

    type: str
    payload: bytes | None = None
    _: KW_ONLY
    queue: str | None = None
    max_retry: int | None = None
    timeout: Duration | None = None
    deadline: Moment | None = None
    process_in: Duration | None = None
    process_at: Moment | None = None
    unique: Duration | None = None
    task_id: str | None = None
    retention: Duration | None = None
    group: str | None = None
    headers: Mapping[str, str] | None = field(default=None, hash=False)
    _resolved: _Resolved = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not self.type.strip():
            raise InvalidArgumentError(f"task type must be a non-blank string, got {self.type!r}")
        if self.payload is not None:
            if not isinstance(self.payload, bytes | bytearray | memoryview):
                raise InvalidArgumentError(
                    f"payload must be bytes (or None), got {type(self.payload).__name__}; "
                    "encode text or JSON first"
                )
            object.__setattr__(self, "payload", bytes(self.payload))
        if self.headers is not None:
            object.__setattr__(self, "headers", _headers(self.headers))
        # Checked once here; kept so that enqueue without overrides skips re-checking.
        # Most tasks set no option at all: they share the defaults, resolved once.
        if (
            self.queue is None
            and self.max_retry is None
            and self.timeout is None
            and self.deadline is None
            and self.process_in is None
            and self.process_at is None
            and self.unique is None
            and self.task_id is None
            and self.retention is None
            and self.group is None
            and self.headers is None
        ):
            resolved = _DEFAULT_RESOLVED
        else:
            resolved = _resolve(self.options())
        object.__setattr__(self, "_resolved", resolved)

    def options(self) -> EnqueueOptions:
        return EnqueueOptions(**{f.name: getattr(self, f.name) for f in fields(EnqueueOptions)})

    def with_options(self, **options: Any) -> Task:
        """A copy of this task with some options replaced."""
        return replace(self, **options)


@dataclass(frozen=True, kw_only=True, slots=True)
class EnqueuePlan:
    """What one enqueue writes (for rdb) and what it reports (to the caller)."""

    write: TaskWrite
    info: TaskInfo


@dataclass(frozen=True, kw_only=True, slots=True)
class _Resolved:
    """Options after validation, in the units asynq stores."""

    queue: str
    max_retry: int
    timeout: timedelta | None
    deadline: datetime | None
    process_in: timedelta | None
    process_at: datetime | None
    unique: timedelta | None
    task_id: str | None
    retention: timedelta
    group: str
    headers: dict[str, str]
    # The message's integer fields, derived once per set of options rather than per enqueue.
    stored_timeout: int
    """Whole seconds; 30 minutes when neither timeout nor deadline is given, as asynq."""
    stored_deadline: int
    """Unix seconds, 0 for none."""
    stored_retention: int
    """Whole seconds."""
    info_fields: Mapping[str, Any]
    """The TaskInfo fields every task planned with these options shares (see plan_enqueue)."""


def plan_enqueue(task: Task, options: EnqueueOptions, now: float) -> EnqueuePlan:
    """Decide what enqueuing ``task`` with ``options`` (over the task's own) at ``now`` writes.

    Precedence as in Go: a process time after now schedules the task (even with a group, which
    is then ignored by Redis, spec §8.12); otherwise a group adds it to the group; otherwise it
    is pending. Raises InvalidArgumentError for anything asynq would refuse.
    """
    # Without overrides, reuse the options the task checked when it was built.
    if options is _NO_OPTIONS or options == _NO_OPTIONS:
        opts = task._resolved
    else:
        opts = _resolve(options.over(task.options()))
    queue = opts.queue
    now_dt = datetime.fromtimestamp(now, UTC)
    # No process time given (the common case): no datetime arithmetic; it runs now.
    process_at = opts.process_at
    if process_at is None:
        process_at = now_dt + opts.process_in if opts.process_in is not None else now_dt

    task_id = opts.task_id if opts.task_id is not None else _new_task_id()
    unique_key = keys.unique_key(queue, task.type, task.payload) if opts.unique else ""
    payload = task.payload or b""
    try:  # a str that is not valid UTF-8 fails already when set on the message
        msg = TaskMessage(
            type=task.type,
            payload=payload,
            id=task_id,
            queue=queue,
            retry=opts.max_retry,
            timeout=opts.stored_timeout,
            deadline=opts.stored_deadline,
            unique_key=unique_key,
            retention=opts.stored_retention,
            group_key=opts.group,
        )
        if opts.headers:
            msg.headers.update(opts.headers)
        message = encode_task_message(msg)
    except (ValueError, UnicodeError) as exc:
        raise InvalidArgumentError(f"task cannot be encoded: {exc}") from exc

    unique_ttl = 0
    next_process_at: datetime | None
    if process_at > now_dt:
        state, score, next_process_at = TaskState.SCHEDULED, _unix(process_at), process_at
        if opts.unique:
            unique_ttl = _whole_seconds(process_at - now_dt + opts.unique)
    elif opts.group:
        state, score, next_process_at = TaskState.AGGREGATING, math.floor(now), None
        if opts.unique:
            unique_ttl = _whole_seconds(opts.unique)
    else:
        state, score, next_process_at = TaskState.PENDING, 0, now_dt
        if opts.unique:
            unique_ttl = _whole_seconds(opts.unique)

    write = TaskWrite(
        queue=queue,
        task_id=task_id,
        message=message,
        state=state,
        now_ns=int(now * 1_000_000_000),
        score=score,
        group=opts.group if state is TaskState.AGGREGATING else "",
        unique_key=unique_key,
        unique_ttl=unique_ttl,
    )
    # What TaskInfo.from_message(msg, state, next_process_at=...) gives, without reading the
    # values back out of the message nor running TaskInfo's frozen __init__ (one
    # object.__setattr__ per field): together they cost more than the rest of planning a
    # default enqueue. The fields every task of these options shares are in opts.info_fields.
    info = _new_instance(TaskInfo)
    vars(info).update(
        opts.info_fields,
        id=task_id,
        type=task.type,
        payload=payload,
        headers=dict(opts.headers),
        state=state,
        next_process_at=next_process_at,
        unique_key=unique_key,
    )
    return EnqueuePlan(write=write, info=info)


class Client:
    """Enqueues tasks into asynq's Redis layout; Go and Python workers can process them.

    ``redis`` is a URL, a :class:`RedisSettings` or a redis-py client (binary replies, i.e.
    ``decode_responses=False``); a client passed in is not closed by :meth:`close`. ``clock``
    supplies "now" (a FrozenClock in tests).
    """

    def __init__(self, redis: RedisSettings | str | Any, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = EnqueueStore.open(redis)
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = SYSTEM_CLOCK) -> Client:
        return cls(RedisSettings.from_url(url), clock=clock)

    def enqueue(
        self,
        task: Task,
        *,
        queue: str | None = None,
        max_retry: int | None = None,
        timeout: Duration | None = None,
        deadline: Moment | None = None,
        process_in: Duration | None = None,
        process_at: Moment | None = None,
        unique: Duration | None = None,
        task_id: str | None = None,
        retention: Duration | None = None,
        group: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> TaskInfo:
        """Enqueue ``task``; returns its TaskInfo (state pending, scheduled or aggregating).

        Raises InvalidArgumentError (nothing written), DuplicateTaskError (the unique lock is
        held), TaskIdConflictError (the id exists in any state) or RedisUnavailableError.
        """
        if (
            queue is None
            and max_retry is None
            and timeout is None
            and deadline is None
            and process_in is None
            and process_at is None
            and unique is None
            and task_id is None
            and retention is None
            and group is None
            and headers is None
        ):
            options = _NO_OPTIONS  # the common call: the task's own options, already checked
        else:
            options = EnqueueOptions(
                queue=queue,
                max_retry=max_retry,
                timeout=timeout,
                deadline=deadline,
                process_in=process_in,
                process_at=process_at,
                unique=unique,
                task_id=task_id,
                retention=retention,
                group=group,
                headers=headers,
            )
        plan = plan_enqueue(_task(task), options, self._clock.now())
        self._store.write(plan.write)
        return plan.info

    @overload
    def enqueue_many(
        self,
        tasks: Iterable[Task],
        *,
        return_exceptions: Literal[False] = False,
        queue: str | None = None,
        max_retry: int | None = None,
        timeout: Duration | None = None,
        deadline: Moment | None = None,
        process_in: Duration | None = None,
        process_at: Moment | None = None,
        unique: Duration | None = None,
        retention: Duration | None = None,
        group: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[TaskInfo]: ...

    @overload
    def enqueue_many(
        self,
        tasks: Iterable[Task],
        *,
        return_exceptions: Literal[True],
        queue: str | None = None,
        max_retry: int | None = None,
        timeout: Duration | None = None,
        deadline: Moment | None = None,
        process_in: Duration | None = None,
        process_at: Moment | None = None,
        unique: Duration | None = None,
        retention: Duration | None = None,
        group: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[TaskInfo | QueueCoreError]: ...

    def enqueue_many(
        self,
        tasks: Iterable[Task],
        *,
        return_exceptions: bool = False,
        queue: str | None = None,
        max_retry: int | None = None,
        timeout: Duration | None = None,
        deadline: Moment | None = None,
        process_in: Duration | None = None,
        process_at: Moment | None = None,
        unique: Duration | None = None,
        retention: Duration | None = None,
        group: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[TaskInfo] | list[TaskInfo | QueueCoreError]:
        """Enqueue many tasks in one round trip (pipelined; per 10 000 tasks).

        Keyword options apply to every task and override each task's own. Every task is
        checked before anything is written, so invalid input writes nothing. Each task is
        written independently (no MULTI, as asynq's BatchEnqueue): unlike Go's, which reports
        a refused task as if it were written, a task refused as a duplicate or ID conflict is
        reported. With ``return_exceptions=False`` (default) any refusal raises
        BatchEnqueueError after the others were written; its ``results`` holds, per task, the
        TaskInfo or the error. With ``return_exceptions=True`` that list is returned instead.
        Unique and group options work here too (Go's BatchEnqueue rejects them).
        """
        options = EnqueueOptions(
            queue=queue,
            max_retry=max_retry,
            timeout=timeout,
            deadline=deadline,
            process_in=process_in,
            process_at=process_at,
            unique=unique,
            retention=retention,
            group=group,
            headers=headers,
        )
        now = self._clock.now()
        plans = [plan_enqueue(_task(task), options, now) for task in tasks]
        if not plans:
            return []
        outcomes = self._store.write_many([plan.write for plan in plans])
        results: list[TaskInfo | QueueCoreError] = [
            plan.info if error is None else error
            for plan, error in zip(plans, outcomes, strict=True)
        ]
        if return_exceptions:
            return results
        if any(error is not None for error in outcomes):
            raise BatchEnqueueError(list(results))
        return [plan.info for plan in plans]

    def ping(self) -> bool:
        return self._store.ping()

    def close(self) -> None:
        """Close the connection if this client opened it."""
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _task(task: object) -> Task:
    if not isinstance(task, Task):
        raise InvalidArgumentError(f"expected a Task, got {type(task).__name__}")
    return task


def _resolve(opts: EnqueueOptions) -> _Resolved:
    """Validate every option and convert it to the unit asynq uses (asynq's error rules)."""
    queue = DEFAULT_QUEUE if opts.queue is None else opts.queue
    if not isinstance(queue, str) or not queue.strip():
        raise InvalidArgumentError(f"queue name must be a non-blank string, got {queue!r}")
    max_retry = DEFAULT_MAX_RETRY if opts.max_retry is None else opts.max_retry
    if isinstance(max_retry, bool) or not isinstance(max_retry, int):
        raise InvalidArgumentError(f"max_retry must be an int, got {max_retry!r}")
    if max_retry > _INT32_MAX:
        raise InvalidArgumentError(f"max_retry must be at most {_INT32_MAX}, got {max_retry}")
    unique = _duration("unique", opts.unique)
    if unique is not None and unique < _SECOND:
        raise InvalidArgumentError(f"unique TTL cannot be less than 1s, got {unique}")
    task_id = opts.task_id
    if task_id is not None and (not isinstance(task_id, str) or not task_id.strip()):
        raise InvalidArgumentError(f"task_id must be a non-blank string, got {task_id!r}")
    group = opts.group
    if group is not None and (not isinstance(group, str) or not group.strip()):
        raise InvalidArgumentError(f"group must be a non-blank string, got {group!r}")
    timeout = _duration("timeout", opts.timeout)
    deadline = _moment("deadline", opts.deadline)
    retention = _duration("retention", opts.retention) or timedelta(0)
    stored_timeout = timeout if deadline is not None or timeout else DEFAULT_TIMEOUT
    timeout_s = _whole_seconds(stored_timeout) if stored_timeout else 0
    deadline_s = _unix(deadline) if deadline is not None else 0
    retention_s = _whole_seconds(retention)
    return _Resolved(
        queue=queue,
        max_retry=max(max_retry, 0),
        timeout=timeout,
        deadline=deadline,
        process_in=_duration("process_in", opts.process_in),
        process_at=_moment("process_at", opts.process_at),
        unique=unique,
        task_id=task_id,
        retention=retention,
        group=group or "",
        headers=_headers(opts.headers) if opts.headers is not None else {},
        stored_timeout=timeout_s,
        stored_deadline=deadline_s,
        stored_retention=retention_s,
        info_fields=_info_fields(
            queue=queue,
            max_retry=max(max_retry, 0),
            timeout=timedelta(seconds=timeout_s),
            deadline=from_unix(deadline_s),
            group=group or "",
            retention=timedelta(seconds=retention_s),
        ),
    )


_new_instance = object.__new__


_TASK_INFO_DEFAULTS = {f.name: f.default for f in fields(TaskInfo) if f.default is not MISSING}


def _info_fields(**shared: Any) -> dict[str, Any]:
    """TaskInfo's defaults overlaid with ``shared``: what plan_enqueue's TaskInfo starts from."""
    return {**_TASK_INFO_DEFAULTS, **shared}


def _duration(name: str, value: object) -> timedelta | None:
    if value is None:
        return None
    try:
        if isinstance(value, timedelta):
            result = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise InvalidArgumentError(f"{name} must be finite, got {value!r}")
            result = timedelta(seconds=value)
        else:
            raise InvalidArgumentError(
                f"{name} must be a timedelta or a number of seconds, got {type(value).__name__}"
            )
    except OverflowError:
        raise InvalidArgumentError(f"{name} is out of range: {value!r}") from None
    if result < timedelta(0):
        raise InvalidArgumentError(f"{name} cannot be negative, got {value!r}")
    return result


def _moment(name: str, value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError(
                f"{name} must be timezone-aware (e.g. datetime.now(UTC)), got {value!r}"
            )
        return value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise InvalidArgumentError(f"{name} is not a valid Unix time: {value!r}") from None
    raise InvalidArgumentError(
        f"{name} must be a timezone-aware datetime or Unix seconds, got {type(value).__name__}"
    )


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"headers must be a mapping of str to str, got {value!r}")
    bad = [(k, v) for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise InvalidArgumentError(f"headers must map str to str; not: {bad[0]!r}")
    return dict(value)


def _new_task_id() -> str:
    """A random UUIDv4 as ``str(uuid.uuid4())`` spells it, without building a UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _whole_seconds(duration: timedelta) -> int:
    """Truncate to whole seconds, as Go's int64(d.Seconds()) does for non-negative values."""
    return duration // _SECOND


def _unix(when: datetime) -> int:
    """Whole Unix seconds (Go's Time.Unix)."""
    return (when - _EPOCH) // _SECOND


_DEFAULT_RESOLVED = _resolve(_NO_OPTIONS)
