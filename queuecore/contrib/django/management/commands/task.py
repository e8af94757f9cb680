"""``manage.py task ls|inspect|run|archive|delete|cancel`` — asynq's ``task`` commands.

``run``, ``archive`` and ``delete`` act on one task (``--id``) or on every task in a state
(``--all --state S``, and ``--group G`` for aggregating); ``cancel`` on one active task or, with
``--all``, every active task of the queue.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from queuecore.contrib.django.management.inspector_command import (
    InspectorCommand,
    printable,
    when,
)
from queuecore.inspector import DEFAULT_PAGE_SIZE, Inspector
from queuecore.taskinfo import TaskInfo, TaskState

STATE_NAMES = [s.value for s in TaskState]


class Command(InspectorCommand):
    help = "List, inspect and act on tasks (asynq CLI's task commands)."
    subcommands = {
        "ls": "List tasks of a queue in one state.",
        "inspect": "Show every field of one task.",
        "run": "Run a task now (or --all in a state).",
        "archive": "Archive a task (or --all in a state).",
        "delete": "Delete a task (or --all in a state).",
        "cancel": "Cancel an active task (or --all active tasks of a queue).",
    }

    def arguments_ls(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", "-q", required=True)
        parser.add_argument("--state", "-s", required=True, choices=STATE_NAMES)
        parser.add_argument("--group", "-g", default=None, help="group (aggregating tasks)")
        parser.add_argument("--page", type=int, default=1)
        parser.add_argument("--size", type=int, default=DEFAULT_PAGE_SIZE, help="page size")

    def arguments_inspect(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", "-q", required=True)
        parser.add_argument("--id", "-i", required=True, dest="task_id")

    def _arguments_action(self, parser: CommandParser, states: list[str]) -> None:
        parser.add_argument("--queue", "-q", required=True)
        parser.add_argument("--id", "-i", dest="task_id", default=None)
        parser.add_argument("--all", action="store_true", dest="all_tasks")
        parser.add_argument("--state", "-s", choices=states, default=None)
        parser.add_argument("--group", "-g", default=None)

    def arguments_run(self, parser: CommandParser) -> None:
        self._arguments_action(
            parser, ["scheduled", "retry", "archived", "completed", "aggregating"]
        )

    def arguments_archive(self, parser: CommandParser) -> None:
        self._arguments_action(parser, ["pending", "scheduled", "retry", "aggregating"])

    def arguments_delete(self, parser: CommandParser) -> None:
        self._arguments_action(
            parser, ["pending", "scheduled", "retry", "archived", "completed", "aggregating"]
        )

    def arguments_cancel(self, parser: CommandParser) -> None:
        parser.add_argument("--id", "-i", dest="task_id", default=None)
        parser.add_argument("--all", action="store_true", dest="all_tasks")
        parser.add_argument("--queue", "-q", default=None, help="queue (with --all)")

    # -- reads ----------------------------------------------------------------------------------

    def handle_ls(
        self,
        inspector: Inspector,
        *,
        queue: str,
        state: str,
        group: str | None,
        page: int,
        size: int,
        json: bool,
        **_: Any,
    ) -> None:
        tasks = inspector.list_tasks(queue, state, page=page, page_size=size, group=group)
        if json:
            self.emit_json({"tasks": list(tasks), "total": tasks.total, "skipped": tasks.skipped})
            return
        now = inspector.now()
        st = TaskState(state)
        headers = ["ID", "Type", "Payload"]
        if st in (TaskState.SCHEDULED, TaskState.RETRY):
            headers.append("Process In")
        if st in (TaskState.RETRY, TaskState.ARCHIVED):
            headers += ["Retried", "Max Retry", "Last Error"]
        if st is TaskState.ARCHIVED:
            headers.append("Last Failed")
        if st is TaskState.COMPLETED:
            headers += ["Completed", "Result"]
        if st is TaskState.ACTIVE:
            headers.append("Orphaned")
        if st is TaskState.AGGREGATING:
            headers.append("Group")
        self.table(headers, [self._row(t, st, now) for t in tasks])
        if tasks.skipped:
            self.stdout.write(f"({tasks.skipped} ids skipped: record missing or undecodable)")

    def _row(self, task: TaskInfo, state: TaskState, now: Any) -> list[object]:
        row: list[object] = [task.id, task.type, printable(task.payload)]
        if state in (TaskState.SCHEDULED, TaskState.RETRY):
            row.append(when(task.next_process_at, now))
        if state in (TaskState.RETRY, TaskState.ARCHIVED):
            row += [task.retried, task.max_retry, task.last_err]
        if state is TaskState.ARCHIVED:
            row.append(when(task.last_failed_at, now))
        if state is TaskState.COMPLETED:
            row += [when(task.completed_at, now), printable(task.result)]
        if state is TaskState.ACTIVE:
            row.append("yes" if task.is_orphaned else "no")
        if state is TaskState.AGGREGATING:
            row.append(task.group)
        return row

    def handle_inspect(
        self, inspector: Inspector, *, queue: str, task_id: str, json: bool, **_: Any
    ) -> None:
        task = inspector.get_task_info(queue, task_id)
        if json:
            self.emit_json(task)
            return
        now = inspector.now()
        pairs: list[tuple[str, object]] = [
            ("ID", task.id),
            ("Queue", task.queue),
            ("Type", task.type),
            ("State", task.state.value),
            ("Retried", f"{task.retried}/{task.max_retry}"),
            ("Payload", printable(task.payload, width=10_000)),
        ]
        if task.headers:
            pairs.append(("Headers", ", ".join(f"{k}={v}" for k, v in task.headers.items())))
        if task.next_process_at:
            pairs.append(("Next process time", when(task.next_process_at, now)))
        if task.last_err:
            pairs += [
                ("Last error", task.last_err),
                ("Last failed", when(task.last_failed_at, now)),
            ]
        if task.timeout:
            pairs.append(("Timeout", task.timeout))
        if task.deadline:
            pairs.append(("Deadline", task.deadline.isoformat()))
        if task.group:
            pairs.append(("Group", task.group))
        if task.completed_at:
            pairs.append(("Completed", when(task.completed_at, now)))
        if task.result:
            pairs.append(("Result", printable(task.result, width=10_000)))
        if task.is_orphaned:
            pairs.append(("Orphaned", "yes (lease expired)"))
        self.fields(pairs)

    # -- actions --------------------------------------------------------------------------------

    def _act(
        self,
        inspector: Inspector,
        verb: str,
        *,
        queue: str,
        task_id: str | None,
        all_tasks: bool,
        state: str | None,
        group: str | None,
        json: bool,
    ) -> None:
        if all_tasks == (task_id is not None):
            raise CommandError("give either --id ID or --all --state STATE")
        if task_id is not None:
            getattr(inspector, f"{verb}_task")(queue, task_id)
            if json:
                self.emit_json({"queue": queue, "id": task_id, "action": verb})
            else:
                self.stdout.write(f"Task {task_id!r} in queue {queue!r}: {verb} done")
            return
        if state is None:
            raise CommandError("--all needs --state")
        count = getattr(inspector, f"{verb}_all")(queue, state, group)
        if json:
            self.emit_json({"queue": queue, "state": state, "action": verb, "count": count})
        else:
            self.stdout.write(f"{verb}: {count} {state} tasks in queue {queue!r}")

    def handle_run(self, inspector: Inspector, **options: Any) -> None:
        self._act(inspector, "run", **_action_options(options))

    def handle_archive(self, inspector: Inspector, **options: Any) -> None:
        self._act(inspector, "archive", **_action_options(options))

    def handle_delete(self, inspector: Inspector, **options: Any) -> None:
        self._act(inspector, "delete", **_action_options(options))

    def handle_cancel(
        self,
        inspector: Inspector,
        *,
        task_id: str | None,
        all_tasks: bool,
        queue: str | None,
        json: bool,
        **_: Any,
    ) -> None:
        if all_tasks:
            if not queue:
                raise CommandError("--all needs --queue")
            count = inspector.cancel_all_active(queue)
            if json:
                self.emit_json({"queue": queue, "action": "cancel", "count": count})
            else:
                self.stdout.write(f"Sent cancel to {count} active tasks in queue {queue!r}")
            return
        if not task_id:
            raise CommandError("give either --id ID or --all --queue QUEUE")
        inspector.cancel_processing(task_id)
        if json:
            self.emit_json({"id": task_id, "action": "cancel"})
        else:
            self.stdout.write(f"Sent cancel signal for task {task_id!r}")


def _action_options(options: dict[str, Any]) -> dict[str, Any]:
    names = ("queue", "task_id", "all_tasks", "state", "group", "json")
    return {name: options.get(name) for name in names}
