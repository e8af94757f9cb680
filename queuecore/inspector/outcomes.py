"""What the action scripts' return codes mean, as asynq's errors and per-id outcomes.

Every single-task, batch and "all" action of the Inspector reads its codes here, so a refusal
reads the same (and carries asynq's own wording) whichever way the action was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from queuecore.errors import (
    MalformedDataError,
    TaskAlreadyArchivedError,
    TaskNotFoundError,
    WrongStateError,
)
from queuecore.inspection import ActionOutcome, BatchResult
from queuecore.rdb.inspect import InspectStore
from queuecore.taskinfo import TaskState

# The states each "all" action accepts (active tasks are cancelled, never moved).
RUN_ALL_STATES = (
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
    TaskState.AGGREGATING,
)
ARCHIVE_ALL_STATES = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.AGGREGATING,
)
DELETE_ALL_STATES = (
    TaskState.PENDING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
    TaskState.AGGREGATING,
)

_ALREADY_PENDING = "task is already in pending state"
_ALREADY_RUNNING = "task is already running"
_ARCHIVE_ACTIVE = "cannot archive task in active state. use CancelProcessing instead."
_DELETE_ACTIVE = "cannot delete task in active state. use CancelProcessing instead."
UPDATE_NOT_SCHEDULED = "cannot update task that is not in scheduled state."


def error_for(action: str, qname: str, task_id: str, code: int) -> Exception | None:
    if code == 1:
        return None
    if code == 0 or code == -3:
        return TaskNotFoundError(qname, task_id)
    if code == -4:  # a key of another type: only deleting it by id helps (Poison data)
        return MalformedDataError(
            InspectStore.task_key(qname, task_id), "not a task hash; it can only be deleted"
        )
    if action == "run":
        if code == -1:
            return WrongStateError(qname, task_id, "active", _ALREADY_RUNNING)
        return WrongStateError(qname, task_id, "pending", _ALREADY_PENDING)
    if action == "archive":
        if code == -1:
            return TaskAlreadyArchivedError(qname, task_id)
        return WrongStateError(qname, task_id, "active", _ARCHIVE_ACTIVE)
    return WrongStateError(qname, task_id, "active", _DELETE_ACTIVE)


def raise_for(action: str, qname: str, task_id: str, code: int) -> None:
    error = error_for(action, qname, task_id, code)
    if error is not None:
        raise error


def batch_result(
    action: str, qname: str, task_ids: Sequence[str], codes: Sequence[int]
) -> BatchResult:
    """Per-id outcomes of one batch, with the error text of each refusal."""
    outcomes: dict[str, ActionOutcome] = {}
    errors: dict[str, str] = {}
    for task_id, code in zip(task_ids, codes, strict=True):
        error = error_for(action, qname, task_id, code)
        if error is None:
            outcomes[task_id] = ActionOutcome.OK
        else:
            outcomes[task_id] = (
                ActionOutcome.NOT_FOUND
                if isinstance(error, TaskNotFoundError)
                else ActionOutcome.WRONG_STATE
            )
            errors[task_id] = str(error)
    return BatchResult(outcomes=outcomes, errors=errors)
