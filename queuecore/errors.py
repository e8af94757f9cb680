"""The one error hierarchy of queuecore.

Every error a caller can see derives from :class:`QueueCoreError`. Messages match asynq v0.26's
texts (spec §4.4 I10) so operators see the same words from Go and Python tools. ``rdb`` turns
Redis and Lua replies into these at its edge; the dashboard maps them to HTTP statuses in one place.
"""

from __future__ import annotations


class QueueCoreError(Exception):
    """Base class of every queuecore error."""


class InvalidArgumentError(QueueCoreError, ValueError):
    """A caller passed a value queuecore refuses (blank type, negative duration, ...)."""


class QueueNotFoundError(QueueCoreError):
    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f'asynq: queue not found: queue="{queue}"')


class TaskNotFoundError(QueueCoreError):
    def __init__(self, queue: str, task_id: str) -> None:
        self.queue = queue
        self.task_id = task_id
        super().__init__(f"asynq: task not found: id={task_id}, queue={queue}")


class DuplicateTaskError(QueueCoreError):
    """A unique lock for the same type and payload is held (asynq's ErrDuplicateTask)."""

    def __init__(self, queue: str, unique_key: str) -> None:
        self.queue = queue
        self.unique_key = unique_key
        super().__init__("task already exists")


class TaskIdConflictError(QueueCoreError):
    """A task with this id exists in the queue, in any state (asynq's ErrTaskIDConflict)."""

    def __init__(self, queue: str, task_id: str) -> None:
        self.queue = queue
        self.task_id = task_id
        super().__init__("task ID conflicts with another task")


class WrongStateError(QueueCoreError):
    """The task exists but its state forbids the operation (asynq's FAILED_PRECONDITION)."""

    def __init__(self, queue: str, task_id: str, state: str, message: str) -> None:
        self.queue = queue
        self.task_id = task_id
        self.state = state
        super().__init__(f"asynq: FAILED_PRECONDITION: {message}")


class TaskAlreadyArchivedError(WrongStateError):
    def __init__(self, queue: str, task_id: str) -> None:
        super().__init__(
            queue, task_id, "archived", f"task is already archived: id={task_id}, queue={queue}"
        )


class QueueNotEmptyError(QueueCoreError):
    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__(f'queue is not empty: queue="{queue}"')


class QueueHasActiveTasksError(QueueCoreError):
    def __init__(self, queue: str) -> None:
        self.queue = queue
        super().__init__("FAILED_PRECONDITION: cannot remove queue with active tasks")


class QueuePausedStateError(QueueCoreError):
    """Pausing a paused queue, or resuming one that is not paused."""

    def __init__(self, queue: str, paused: bool) -> None:
        self.queue = queue
        self.paused = paused
        state = "already paused" if paused else "not paused"
        super().__init__(f'queue "{queue}" is {state}')


class RedisUnavailableError(QueueCoreError):
    """Redis could not be reached or answered with a connection-level error."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Redis unavailable: {detail}")


class MalformedDataError(QueueCoreError):
    """Data in Redis that asynq would never write (undecodable message, wrong key type)."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"malformed data at {key}: {detail}")


class BatchEnqueueError(QueueCoreError):
    """Some tasks of a batch enqueue were refused; the others were written.

    ``results`` has one entry per task, in input order: the TaskInfo of a written task or the
    error (DuplicateTaskError, TaskIdConflictError, ...) that refused it.
    """

    def __init__(self, results: list[object]) -> None:
        self.results = results
        self.errors = [r for r in results if isinstance(r, QueueCoreError)]
        written = len(results) - len(self.errors)
        first = self.errors[0] if self.errors else None
        super().__init__(
            f"{len(self.errors)} of {len(results)} tasks refused ({written} written); "
            f"first: {first}"
        )
