"""Every change the dashboard makes, pages and JSON API alike: the one action path.

Each change here applies, once, the rules every change obeys: the read-only switch and the
caller's role (a refused change is audited too), the recycle bin for task deletes, and one audit
entry per change, written whatever its outcome. Views (``dashboard.views``, ``dashboard.api.views``)
parse their input, call one function here and render what it returns; they never call a mutating
Inspector or Client method themselves, so pages and API cannot drift apart.

The JSON API follows the pages' rules: an API delete keeps its recycle-bin copies exactly as the
page's delete does, and is audited the same way; only the audit action carries the ``api:``
prefix (``Actor.via``), so the log says where a change came from.

A new change is a few lines::

    with changes.change(actor, "send_test_alert", allowed=actor.can.operate) as done:
        send_test_message(...)
        done.count = 1
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest

from dashboard import operations, recycle
from dashboard.access import (
    ACTIONS_BY_STATE,
    Abilities,
    NotAllowedError,
    QueueAction,
    ReadOnlyError,
    TaskAction,
    read_only,
)
from dashboard.audit import Change, audited, new_entry, refused
from dashboard.models import AuditEntry, Outcome
from dashboard.presenters import actions as words
from queuecore import Inspector, TaskInfo, TaskState, WrongStateError
from queuecore.inspection import ActionOutcome, BatchResult

PAGES = ""
API = "api:"


@dataclass(frozen=True)
class Actor:
    """Who asks for a change (the request's user) and through what (``via``: PAGES or API)."""

    request: HttpRequest
    via: str = PAGES

    @property
    def can(self) -> Abilities:
        return Abilities.of(self.request.user)  # type: ignore[arg-type]

    def named(self, action: str) -> str:
        return f"{self.via}{action}"


def authorize(actor: Actor, allowed: bool, action: str, queue: str = "") -> None:
    """Refuse when read-only or the role forbids it; a refused change request is audited.

    A GET (a confirmation or a form about to be sent) is refused the same way but not audited:
    nothing was attempted yet.
    """
    error: PermissionDenied | None = None
    if read_only():
        error = ReadOnlyError()
    elif not allowed:
        error = NotAllowedError(f"Your role does not allow {action.replace('_', ' ')} here.")
    if error is None:
        return
    if actor.request.method != "GET":
        refused(actor.request, actor.named(action), queue, str(error))
    raise error


def begin(
    actor: Actor,
    action: str,
    *,
    allowed: bool,
    queue: str = "",
    state: str = "",
    group: str = "",
    task_ids: Sequence[str] = (),
    total: int = 0,
) -> AuditEntry:
    """Authorize the change and return its (unsaved) audit entry; ``audited`` finishes it."""
    authorize(actor, allowed, action, queue)
    return new_entry(
        actor.request,
        actor.named(action),
        queue=queue,
        state=state,
        group=group,
        task_ids=task_ids,
        total=total,
    )


@contextmanager
def change(
    actor: Actor,
    action: str,
    *,
    allowed: bool,
    queue: str = "",
    task_ids: Sequence[str] = (),
    total: int = 0,
) -> Iterator[Change]:
    """A change with no special rule: authorized, then audited whatever happens inside."""
    entry = begin(actor, action, allowed=allowed, queue=queue, task_ids=task_ids, total=total)
    with audited(entry) as done:
        yield done


# -- tasks: one, selected, all in a state ------------------------------------------------------


def task_one(
    actor: Actor, insp: Inspector, action: TaskAction, queue: str, task_id: str
) -> TaskInfo:
    """Act on one task after checking its state now; returns the task as it was."""
    entry = begin(actor, action, allowed=actor.can.operate, queue=queue, task_ids=[task_id])
    recycle_bin = _recycle_bin(action, entry)
    with audited(entry) as done:
        task = insp.get_task_info(queue, task_id)
        done.state = task.state
        if action not in ACTIONS_BY_STATE[task.state]:
            raise WrongStateError(queue, task_id, task.state, words.not_now(action, task))
        match action:
            case TaskAction.RUN:
                insp.run_task(queue, task_id)
            case TaskAction.ARCHIVE:
                insp.archive_task(queue, task_id)
            case TaskAction.DELETE if recycle_bin is not None:
                recycle.delete_one(insp, task, recycle_bin)
            case TaskAction.CANCEL:
                insp.cancel_processing(task_id)
        done.count = 1
        done.detail = recycle_bin.note(1) if recycle_bin else ""
    return task


def delete_unreadable(actor: Actor, insp: Inspector, queue: str, task_id: str) -> None:
    """Delete a record that cannot be read as a task, by id (README, "Poison data"). The recycle
    bin keeps no copy: there is no task to restore (its bytes can be exported first)."""
    allowed = actor.can.operate
    with change(actor, "delete_unreadable", allowed=allowed, queue=queue, task_ids=[task_id]) as d:
        insp.delete_unreadable(queue, task_id)
        d.count = 1


@dataclass(frozen=True)
class Selected:
    """What an action on selected ids did: each id's outcome (order kept) and the summary."""

    result: BatchResult
    summary: str


def task_selected(
    actor: Actor, insp: Inspector, action: TaskAction, queue: str, ids: Sequence[str]
) -> Selected:
    """Act on the given ids; ids not found or in another state are reported, not acted on."""
    entry = begin(actor, f"{action}_selected", allowed=actor.can.operate, queue=queue, task_ids=ids)
    recycle_bin = _recycle_bin(action, entry)
    with audited(entry) as done:
        if action is TaskAction.CANCEL:
            result = _cancel_selected(insp, queue, ids)
        elif recycle_bin is not None:
            result = recycle.delete_selected(insp, queue, ids, recycle_bin)
        else:
            perform = insp.run_tasks if action is TaskAction.RUN else insp.archive_tasks
            result = perform(queue, ids)
        done.count, done.total = len(result.succeeded), len(ids)
        done.outcome = Outcome.PARTIAL if result.failed else Outcome.SUCCEEDED
        done.detail = words.summary(action, result)
        if recycle_bin:
            done.detail = f"{done.detail} {recycle_bin.note(done.count)}".strip()
    return Selected(result, done.detail)


def _cancel_selected(insp: Inspector, queue: str, ids: Sequence[str]) -> BatchResult:
    """Only tasks active now are asked to cancel; any other id is reported as not active."""
    active = {t.id for t in insp.list_tasks(queue, TaskState.ACTIVE, page_size=0)}
    for task_id in ids:
        if task_id in active:
            insp.cancel_processing(task_id)
    return BatchResult(
        outcomes={i: ActionOutcome.OK if i in active else ActionOutcome.WRONG_STATE for i in ids}
    )


def count_in(insp: Inspector, queue: str, state: TaskState, group: str | None) -> int:
    """How many tasks an "all" action would touch now (what its confirmation shows)."""
    if state is TaskState.AGGREGATING and group:
        return next((g.size for g in insp.groups(queue) if g.group == group), 0)
    return int(getattr(insp.get_queue_info(queue, cheap=True), state.value))


def authorize_all(actor: Actor, action: TaskAction, queue: str, state: TaskState) -> None:
    if action not in ACTIONS_BY_STATE[state]:
        raise BadRequest(f"{action} does not apply to {state} tasks")
    authorize(actor, actor.can.bulk_action(action, state), f"{action}_all", queue)


def task_all(
    actor: Actor,
    insp: Inspector,
    action: TaskAction,
    queue: str,
    state: TaskState,
    group: str | None,
    *,
    background: bool = False,
) -> AuditEntry:
    """Act on every task in ``state`` (of ``group``); returns the audit entry, count included.

    With ``background`` a big one (over ``operations.SYNC_LIMIT``) runs on in a thread and the
    entry is returned while running; else it is done before this returns.
    """
    authorize_all(actor, action, queue, state)
    total = count_in(insp, queue, state, group)
    entry = begin(
        actor,
        f"{action}_all",
        allowed=True,
        queue=queue,
        state=state,
        group=group or "",
        total=total,
    )
    recycle_bin = _recycle_bin(action, entry)

    def work(progress: operations.Progress) -> int:
        match action:
            case TaskAction.RUN:
                return insp.run_all(queue, state, group, progress=progress)
            case TaskAction.ARCHIVE:
                return insp.archive_all(queue, state, group, progress=progress)
            case TaskAction.DELETE if recycle_bin is not None:
                return recycle.delete_all(insp, queue, state, group, recycle_bin, progress)
            case TaskAction.CANCEL:
                return insp.cancel_all_active(queue)
        raise AssertionError(f"no {action} all")  # every TaskAction has its case above

    _run(entry, work, background, recycle_bin.note if recycle_bin else None)
    return entry


def _recycle_bin(action: TaskAction, entry: AuditEntry) -> recycle.RecycleBin | None:
    """Every task delete, from a page or the API, copies into the bin first (the one rule; with
    ``RECYCLE_BIN_HOURS`` 0 the bin keeps nothing and the delete goes on)."""
    return recycle.RecycleBin(entry) if action is TaskAction.DELETE else None


def _run(
    entry: AuditEntry,
    work: operations.Work,
    background: bool,
    note: operations.Note | None = None,
) -> None:
    if background and entry.total > operations.SYNC_LIMIT:
        operations.start_background(entry, work, note)
    else:
        operations.run_now(entry, work, note)


# -- queues ------------------------------------------------------------------------------------


def authorize_queue(actor: Actor, action: QueueAction, queue: str) -> None:
    authorize(actor, actor.can.queue_action(action), f"{action}_queue", queue)


def pause_queue(actor: Actor, insp: Inspector, queue: str) -> None:
    with change(actor, "pause_queue", allowed=actor.can.operate, queue=queue) as done:
        insp.pause_queue(queue)
        done.count = 1


def resume_queue(actor: Actor, insp: Inspector, queue: str) -> None:
    with change(actor, "resume_queue", allowed=actor.can.operate, queue=queue) as done:
        insp.unpause_queue(queue)
        done.count = 1


def delete_queue(
    actor: Actor, insp: Inspector, queue: str, *, force: bool, background: bool = False
) -> AuditEntry:
    """Delete a queue; ``force`` deletes its tasks too (the page, after its confirmation),
    else a queue with tasks is refused (the API, as Asynqmon). Queue deletion keeps no copies."""
    authorize_queue(actor, QueueAction.DELETE, queue)
    size = insp.get_queue_info(queue, cheap=True).size
    entry = begin(actor, "delete_queue", allowed=True, queue=queue, total=size)

    def work(progress: operations.Progress) -> int:
        insp.delete_queue(queue, force=force and size > 0, progress=progress)
        return size

    _run(entry, work, background)
    return entry
