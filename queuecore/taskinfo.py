"""What callers get back about a task: its state and every field of its stored message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from queuecore.clock import from_unix
from queuecore.proto.asynq_pb2 import TaskMessage


class TaskState(StrEnum):
    """asynq's task states, in asynq's public order (spec §3.1). Values are the stored strings."""

    ACTIVE = "active"
    PENDING = "pending"
    SCHEDULED = "scheduled"
    RETRY = "retry"
    ARCHIVED = "archived"
    COMPLETED = "completed"
    AGGREGATING = "aggregating"


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """asynq's TaskInfo. Durations are zero and times None where asynq stores 0 (unset)."""

    id: str
    queue: str
    type: str
    payload: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    state: TaskState
    max_retry: int = 0
    retried: int = 0
    last_err: str = ""
    last_failed_at: datetime | None = None
    timeout: timedelta = timedelta(0)
    deadline: datetime | None = None
    group: str = ""
    next_process_at: datetime | None = None
    is_orphaned: bool = False
    retention: timedelta = timedelta(0)
    completed_at: datetime | None = None
    result: bytes | None = None
    unique_key: str = ""
    """The unique lock's Redis key when the task was enqueued with ``unique``, else ``""``.

    asynq stores the key but not the lock's TTL; the lock may since have expired or been released.
    """

    @classmethod
    def from_message(
        cls,
        msg: TaskMessage,
        state: TaskState,
        *,
        next_process_at: datetime | None = None,
        result: bytes | None = None,
        is_orphaned: bool = False,
        queue: str | None = None,
    ) -> TaskInfo:
        """``queue``: the queue whose keys hold the task, which wins over the message's field
        (a proto3 string cannot carry a queue name that is not UTF-8)."""
        return cls(
            id=msg.id,
            queue=msg.queue if queue is None else queue,
            type=msg.type,
            payload=bytes(msg.payload),
            headers=dict(msg.headers),
            state=state,
            max_retry=msg.retry,
            retried=msg.retried,
            last_err=msg.error_msg,
            last_failed_at=from_unix(msg.last_failed_at),
            timeout=timedelta(seconds=msg.timeout),
            deadline=from_unix(msg.deadline),
            group=msg.group_key,
            next_process_at=next_process_at,
            is_orphaned=is_orphaned,
            retention=timedelta(seconds=msg.retention),
            completed_at=from_unix(msg.completed_at),
            result=result or None,
            unique_key=msg.unique_key,
        )
