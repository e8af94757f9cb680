"""Queue detail and task detail: tabs, Asynqmon's columns per state, rows, and a task's fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dashboard.access import ACTIONS_BY_STATE, Abilities, TaskAction
from dashboard.formatters import payload_view, result_view
from dashboard.links import TaskLink, task_links
from dashboard.payloads import BytesView
from queuecore import TaskInfo, TaskState
from queuecore.inspection import GroupInfo, QueueInfo, WorkerInfo

TAB_ORDER = (
    TaskState.ACTIVE,
    TaskState.PENDING,
    TaskState.AGGREGATING,
    TaskState.SCHEDULED,
    TaskState.RETRY,
    TaskState.ARCHIVED,
    TaskState.COMPLETED,
)
PAGE_SIZES = (10, 20, 30, 60, 100)

# Asynqmon's columns per state (dashboards.md §1.3), after ID, Type and Payload.
COLUMNS: dict[TaskState, tuple[str, ...]] = {
    TaskState.ACTIVE: ("Status", "Started", "Deadline"),
    TaskState.PENDING: ("Retried", "Max retry"),
    TaskState.AGGREGATING: ("Group",),
    TaskState.SCHEDULED: ("Process in",),
    TaskState.RETRY: ("Retry in", "Last error", "Retried", "Max retry"),
    TaskState.ARCHIVED: ("Last failed", "Last error"),
    TaskState.COMPLETED: ("Completed", "Result", "TTL"),
}


@dataclass(frozen=True)
class Tab:
    state: TaskState
    count: int
    selected: bool


@dataclass(frozen=True)
class Cell:
    """One table cell; ``kind`` picks its rendering: text, time, error, status, bytes."""

    kind: str
    value: object
    title: str = ""


@dataclass(frozen=True)
class TaskRow:
    task: TaskInfo
    payload: BytesView
    cells: tuple[Cell, ...]
    actions: tuple[TaskAction, ...]


@dataclass(frozen=True)
class Pager:
    page: int
    page_size: int
    total: int

    @property
    def last(self) -> int:
        return max((self.total + self.page_size - 1) // self.page_size, 1)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.last

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.page_size, self.total)


@dataclass(frozen=True)
class QueuePage:
    info: QueueInfo
    state: TaskState
    tabs: tuple[Tab, ...]
    columns: tuple[str, ...]
    rows: tuple[TaskRow, ...]
    pager: Pager
    groups: tuple[GroupInfo, ...]
    group: str | None
    row_actions: tuple[TaskAction, ...]
    bulk_actions: tuple[TaskAction, ...]
    skipped: int


def tabs(info: QueueInfo, selected: TaskState) -> tuple[Tab, ...]:
    return tuple(
        Tab(state, int(getattr(info, state.value)), state is selected) for state in TAB_ORDER
    )


def _cells(task: TaskInfo, now: datetime, worker: WorkerInfo | None) -> tuple[Cell, ...]:
    match task.state:
        case TaskState.ACTIVE:
            status = "orphaned" if task.is_orphaned else "running"
            return (
                Cell("status", status),
                Cell("time", worker.started if worker else None),
                Cell("time", (worker.deadline if worker else None) or task.deadline),
            )
        case TaskState.PENDING:
            return (Cell("text", task.retried), Cell("text", task.max_retry))
        case TaskState.AGGREGATING:
            return (Cell("text", task.group),)
        case TaskState.SCHEDULED:
            return (Cell("time", task.next_process_at),)
        case TaskState.RETRY:
            return (
                Cell("time", task.next_process_at),
                Cell("error", task.last_err),
                Cell("text", task.retried),
                Cell("text", task.max_retry),
            )
        case TaskState.ARCHIVED:
            return (Cell("time", task.last_failed_at), Cell("error", task.last_err))
        case TaskState.COMPLETED:
            return (
                Cell("time", task.completed_at),
                Cell("bytes", result_view(task.type, task.result)),
                Cell("ttl", remaining_retention(task, now)),
            )
    raise ValueError(f"unknown state {task.state}")


def remaining_retention(task: TaskInfo, now: datetime) -> timedelta | None:
    if task.completed_at is None:
        return None
    return max(task.completed_at + task.retention - now, timedelta(0))


def queue_page(
    *,
    info: QueueInfo,
    state: TaskState,
    tasks: Sequence[TaskInfo],
    total: int,
    page: int,
    page_size: int,
    groups: Sequence[GroupInfo],
    group: str | None,
    workers: Mapping[str, WorkerInfo],
    can: Abilities,
    now: datetime,
    skipped: int = 0,
) -> QueuePage:
    allowed = tuple(a for a in ACTIONS_BY_STATE[state] if can.task_action(a, state))
    return QueuePage(
        info=info,
        state=state,
        tabs=tabs(info, state),
        columns=COLUMNS[state],
        rows=build_rows(tasks, allowed, workers, now),
        pager=Pager(page, page_size, total),
        groups=tuple(groups),
        group=group,
        row_actions=allowed,
        bulk_actions=tuple(a for a in allowed if can.bulk_action(a, state)),
        skipped=skipped,
    )


def build_rows(
    tasks: Iterable[TaskInfo],
    allowed: Sequence[TaskAction],
    workers: Mapping[str, WorkerInfo],
    now: datetime,
) -> tuple[TaskRow, ...]:
    return tuple(
        TaskRow(
            task=task,
            payload=payload_view(task.type, task.payload),
            cells=_cells(task, now, workers.get(task.id)),
            actions=tuple(a for a in allowed if not (a is TaskAction.CANCEL and task.is_orphaned)),
        )
        for task in tasks
    )


def searched(page: QueuePage, tasks: Sequence[TaskInfo], skipped: int, now: datetime) -> QueuePage:
    """The page's frame with search matches instead of a listed page."""
    return replace(
        page,
        rows=build_rows(tasks, page.row_actions, {}, now),
        pager=Pager(1, max(len(tasks), 1), len(tasks)),
        skipped=skipped,
    )


def workers_by_task(workers: Iterable[WorkerInfo]) -> dict[str, WorkerInfo]:
    return {worker.task_id: worker for worker in workers}


@dataclass(frozen=True)
class TaskDetail:
    task: TaskInfo
    payload: BytesView
    result: BytesView
    retention_left: timedelta | None
    actions: tuple[TaskAction, ...]
    links: tuple[TaskLink, ...] = ()


def task_detail(task: TaskInfo, can: Abilities, now: datetime) -> TaskDetail:
    actions = tuple(a for a in ACTIONS_BY_STATE[task.state] if can.task_action(a, task.state))
    if task.is_orphaned:
        actions = tuple(a for a in actions if a is not TaskAction.CANCEL)
    payload = payload_view(task.type, task.payload)
    return TaskDetail(
        task=task,
        payload=payload,
        result=result_view(task.type, task.result),
        retention_left=remaining_retention(task, now),
        actions=actions,
        links=task_links(task, payload.shown if payload.formatter else None),
    )
