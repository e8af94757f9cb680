"""Words of the actions: confirmations with exact counts, and the short messages after them."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.access import ACTIONS_BY_STATE, TaskAction
from dashboard.models import AuditEntry, Outcome
from dashboard.scope import reverse
from queuecore import TaskInfo, TaskState
from queuecore.inspection import ActionOutcome, BatchResult, QueueInfo

PAST = {"run": "Ran", "archive": "Archived", "delete": "Deleted", "cancel": "Asked to cancel"}


@dataclass(frozen=True)
class Confirmation:
    title: str
    message: str
    count: int
    post_url: str
    cancel_url: str
    button: str
    group: str | None = None
    danger: bool = True


def _tasks(n: int) -> str:
    return f"{n} task" + ("" if n == 1 else "s")


def confirm_all(
    queue: str, action: TaskAction, state: TaskState, group: str | None, count: int
) -> Confirmation:
    where = f"{state} tasks of queue {queue}" + (f", group {group}" if group else "")
    return Confirmation(
        title=f"{action.capitalize()} all {state} tasks?",
        message=f"This will {action} all {_tasks(count)} currently in the {where}.",
        count=count,
        post_url=reverse("dashboard:all-action", args=[queue, state.value, action.value]),
        cancel_url=reverse("dashboard:queue", args=[queue]) + f"?state={state}",
        button=f"{action.capitalize()} {_tasks(count)}",
        group=group,
        danger=action in (TaskAction.DELETE, TaskAction.ARCHIVE),
    )


def confirm_delete_queue(info: QueueInfo) -> Confirmation:
    if info.size:
        message = (
            f"Queue {info.queue} holds {_tasks(info.size)}; deleting it deletes all of them. "
            "A queue with active tasks cannot be deleted."
        )
    else:
        message = f"Queue {info.queue} is empty."
    return Confirmation(
        title=f"Delete queue {info.queue}?",
        message=message,
        count=info.size,
        post_url=reverse("dashboard:queue-action", args=[info.queue, "delete"]),
        cancel_url=reverse("dashboard:queue", args=[info.queue]),
        button=f"Delete queue and {_tasks(info.size)}" if info.size else "Delete queue",
    )


def not_now(action: TaskAction, task: TaskInfo) -> str:
    valid = ", ".join(s.value for s, acts in ACTIONS_BY_STATE.items() if action in acts)
    return f"task {task.id} is now {task.state}; {action} applies to {valid} tasks"


def done_one(action: TaskAction, task: TaskInfo) -> str:
    if action is TaskAction.RUN:
        return f"Task {task.id} moved to pending."
    if action is TaskAction.CANCEL:
        return f"Asked the servers to cancel task {task.id}."
    return f"{PAST[action]} task {task.id}."


def summary(action: TaskAction, result: BatchResult) -> str:
    outcomes = list(result.outcomes.values())
    text = f"{PAST[action]} {_tasks(outcomes.count(ActionOutcome.OK))}."
    moved = outcomes.count(ActionOutcome.WRONG_STATE)
    if moved:
        text += (
            f" {_tasks(moved)} had changed state and {'was' if moved == 1 else 'were'} left alone."
        )
    gone = outcomes.count(ActionOutcome.NOT_FOUND)
    if gone:
        text += f" {_tasks(gone)} no longer existed."
    return text


def done_bulk(entry: AuditEntry) -> str:
    if entry.outcome == Outcome.FAILED:
        return f"Stopped after {_tasks(entry.count)}: {entry.detail}"
    if entry.action == "delete_queue":
        return f"Deleted queue {entry.queue}" + (
            f" and {_tasks(entry.count)}." if entry.count else "."
        )
    verb = PAST.get(entry.action.removesuffix("_all"), entry.action)
    return f"{verb} {_tasks(entry.count)} ({entry.state} in {entry.queue})."
