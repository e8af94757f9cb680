"""Maps the dashboard's actions onto Inspector calls (one task, selected ids, all in a state)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dashboard import recycle
from dashboard.access import TaskAction
from dashboard.operations import Progress, Work
from queuecore import Inspector, TaskInfo, TaskState
from queuecore.inspection import ActionOutcome


def perform_one(
    insp: Inspector,
    action: TaskAction,
    task: TaskInfo,
    recycle_bin: recycle.RecycleBin | None = None,
) -> None:
    """``recycle_bin``: where deletes keep their copies first (None: no copies)."""
    match action:
        case TaskAction.RUN:
            insp.run_task(task.queue, task.id)
        case TaskAction.ARCHIVE:
            insp.archive_task(task.queue, task.id)
        case TaskAction.DELETE if recycle_bin is not None:
            recycle.delete_one(insp, task, recycle_bin)
        case TaskAction.DELETE:
            insp.delete_task(task.queue, task.id)
        case TaskAction.CANCEL:
            insp.cancel_processing(task.id)


@dataclass(frozen=True)
class SelectedOutcome:
    succeeded: list[str]
    not_found: list[str]
    wrong_state: list[str]

    @property
    def failed(self) -> list[str]:
        return self.not_found + self.wrong_state


def perform_selected(
    insp: Inspector,
    action: TaskAction,
    queue: str,
    ids: Sequence[str],
    recycle_bin: recycle.RecycleBin | None = None,
) -> SelectedOutcome:
    if action is TaskAction.CANCEL:
        active = {t.id for t in insp.list_tasks(queue, TaskState.ACTIVE, page_size=0)}
        for task_id in ids:
            if task_id in active:
                insp.cancel_processing(task_id)
        return SelectedOutcome(
            [i for i in ids if i in active], [], [i for i in ids if i not in active]
        )
    if action is TaskAction.DELETE and recycle_bin is not None:
        batch = recycle.delete_selected(insp, queue, ids, recycle_bin)
    else:
        batch = {
            TaskAction.RUN: insp.run_tasks,
            TaskAction.ARCHIVE: insp.archive_tasks,
            TaskAction.DELETE: insp.delete_tasks,
        }[action](queue, ids)
    by = batch.outcomes
    return SelectedOutcome(
        [i for i, o in by.items() if o is ActionOutcome.OK],
        [i for i, o in by.items() if o is ActionOutcome.NOT_FOUND],
        [i for i, o in by.items() if o is ActionOutcome.WRONG_STATE],
    )


def count_in(insp: Inspector, queue: str, state: TaskState, group: str | None) -> int:
    if state is TaskState.AGGREGATING and group:
        return next((g.size for g in insp.groups(queue) if g.group == group), 0)
    return int(getattr(insp.get_queue_info(queue, cheap=True), state.value))


def all_work(
    insp: Inspector,
    action: TaskAction,
    queue: str,
    state: TaskState,
    group: str | None,
    recycle_bin: recycle.RecycleBin | None = None,
) -> Work:
    def work(progress: Progress) -> int:
        match action:
            case TaskAction.RUN:
                return insp.run_all(queue, state, group, progress=progress)
            case TaskAction.ARCHIVE:
                return insp.archive_all(queue, state, group, progress=progress)
            case TaskAction.DELETE if recycle_bin is not None:
                return recycle.delete_all(insp, queue, state, group, recycle_bin, progress)
            case TaskAction.DELETE:
                return insp.delete_all(queue, state, group, progress=progress)
            case TaskAction.CANCEL:
                return insp.cancel_all_active(queue)

    return work


def delete_queue_work(insp: Inspector, queue: str, size: int) -> Work:
    def work(progress: Progress) -> int:
        insp.delete_queue(queue, force=size > 0, progress=progress)
        return size

    return work
