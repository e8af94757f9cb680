"""``manage.py task ls|inspect|run|archive|delete|cancel|export|import`` — asynq's ``task``
commands, plus export and replay.

``run``, ``archive`` and ``delete`` act on one task (``--id``) or on every task in a state
(``--all --state S``, and ``--group G`` for aggregating); ``cancel`` on one active task or, with
``--all``, every active task of the queue. ``export QUEUE STATE`` writes a state's tasks as JSON
Lines (or CSV) and ``import FILE`` replays such a file through the Client into the Redis given by
``--redis-url`` (e.g. archived prod failures into staging).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import IO, Any

from django.core.management.base import CommandError, CommandParser

from queuecore.client import Client
from queuecore.contrib.django.queuecore.management.inspector_command import (
    InspectorCommand,
    printable,
    when,
)
from queuecore.errors import TaskNotFoundError
from queuecore.export import (
    ExportFilters,
    ExportStats,
    ImportResult,
    export_csv,
    export_jsonl,
    import_tasks,
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
        "export": "Write the tasks of a queue in one state as JSON Lines (or CSV).",
        "import": "Enqueue the tasks of a JSON Lines export (new ids unless --keep-ids).",
        "unreadable": "Show why a record cannot be read; --output writes its bytes, --delete "
        "deletes it.",
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

    def arguments_export(self, parser: CommandParser) -> None:
        parser.add_argument("queue")
        parser.add_argument("state", choices=STATE_NAMES)
        parser.add_argument("--group", "-g", default=None, help="group (aggregating tasks)")
        parser.add_argument("--type", "-t", dest="type_", default=None, help="type, or prefix*")
        parser.add_argument("--error", "-e", default=None, help="substring of the last error")
        parser.add_argument("--text", "-x", default=None, help="substring of payload or id")
        parser.add_argument("--limit", "-n", type=int, default=None, help="at most N tasks")
        parser.add_argument("--format", "-f", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--output", "-o", default=None, help="file to write (default stdout)")

    def arguments_unreadable(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", "-q", required=True)
        parser.add_argument("--id", "-i", required=True, dest="task_id")
        parser.add_argument("--output", "-o", default=None, help="file for the record's bytes")
        parser.add_argument("--delete", action="store_true", help="then delete the record")

    def arguments_import(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a JSON Lines export, or - for stdin")
        parser.add_argument("--queue", "-q", default=None, help="queue for every task")
        parser.add_argument(
            "--keep-ids",
            action="store_true",
            help="keep task ids; an id that exists already is skipped, never overwritten",
        )
        parser.add_argument(
            "--keep-schedule",
            action="store_true",
            help="a task due later stays scheduled then (default: every task runs now)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count; write nothing")

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
            self.emit_json(
                {
                    "tasks": list(tasks),
                    "total": tasks.total,
                    "skipped": tasks.skipped,
                    "skipped_ids": list(tasks.skipped_ids),
                }
            )
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
            ids = ", ".join(tasks.skipped_ids)
            self.stdout.write(
                f"({tasks.skipped} ids skipped: record missing or undecodable: {ids}; "
                "see `task unreadable`)"
            )

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

    def handle_unreadable(
        self,
        inspector: Inspector,
        *,
        queue: str,
        task_id: str,
        output: str | None,
        delete: bool,
        json: bool,
        **_: Any,
    ) -> None:
        try:
            record = inspector.unreadable_record(queue, task_id)
        except TaskNotFoundError:
            if not delete:
                raise
            record = None  # only the id is left in some container: deleting it is all there is
        if record is not None and output is not None:
            if record.data is None:
                raise CommandError(f"the record is a {record.kind}: it holds no bytes to write")
            with open(output, "wb") as out:
                out.write(record.data)
        if delete:
            inspector.delete_unreadable(queue, task_id)
        if json:
            self.emit_json({"record": record, "written": output, "deleted": delete})
            return
        if record is not None:
            size = "no bytes" if record.data is None else f"{len(record.data)} bytes"
            self.fields([("ID", task_id), ("Key type", record.kind), ("Why", record.reason),
                         ("Data", size)])  # fmt: skip
        if output is not None and record is not None:
            self.stdout.write(f"Wrote the record's bytes to {output}")
        if delete:
            self.stdout.write(f"Deleted unreadable record {task_id!r} of queue {queue!r}")

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

    # -- export and import ----------------------------------------------------------------------

    def handle_export(
        self,
        inspector: Inspector,
        *,
        queue: str,
        state: str,
        group: str | None,
        type_: str | None,
        error: str | None,
        text: str | None,
        limit: int | None,
        format: str,
        output: str | None,
        **_: Any,
    ) -> None:
        if limit is not None and limit < 0:
            raise CommandError("--limit must not be negative")
        filters = ExportFilters(text=text, type=type_, error=error, group=group)
        stats = ExportStats()
        if format == "csv":
            lines = export_csv(inspector, queue, state, filters=filters, limit=limit, stats=stats)
        else:
            lines = export_jsonl(inspector, queue, state, filters=filters, limit=limit, stats=stats)
        if output and output != "-":
            try:
                with open(output, "w", encoding="utf-8", newline="") as target:
                    target.writelines(lines)
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror}") from exc
        else:
            for line in lines:
                self.stdout.write(line, ending="")
        more = "; stopped at --limit" if stats.limit_reached else ""
        where = f" to {output}" if output and output != "-" else ""
        self.stderr.write(
            f"Exported {stats.exported} {state} tasks of queue {queue!r}{where} "
            f"(scanned {stats.scanned}, skipped {stats.skipped} unreadable){more}."
        )

    def handle_import(
        self,
        inspector: Inspector,
        *,
        file: str,
        queue: str | None,
        keep_ids: bool,
        keep_schedule: bool,
        dry_run: bool,
        json: bool,
        **_: Any,
    ) -> None:
        client = Client(inspector.store.client)
        with ExitStack() as stack:
            if file == "-":
                source: IO[bytes] = sys.stdin.buffer
            else:
                try:
                    source = stack.enter_context(open(file, "rb"))
                except OSError as exc:
                    raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
            result = import_tasks(
                source,
                client,
                queue=queue,
                keep_ids=keep_ids,
                as_pending=not keep_schedule,
                dry_run=dry_run,
                inspector=inspector,
            )
        if json:
            self.emit_json(result)
            return
        self._import_summary(result)

    def _import_summary(self, result: ImportResult) -> None:
        verb = "Would enqueue" if result.dry_run else "Enqueued"
        self.stdout.write(
            f"{verb} {result.enqueued} of {result.read} tasks; "
            f"skipped {result.skipped_count}, malformed {result.malformed_count}."
        )
        for reason, count in result.skipped_by_reason.items():
            self.stdout.write(f"  skipped {count}: {reason}")
        for problem in result.skipped:
            self.stdout.write(f"  line {problem.line}: {problem.task_id}: {problem.reason}")
        for problem in result.malformed:
            self.stdout.write(f"  line {problem.line}: malformed: {problem.reason}")
        listed = len(result.skipped) + len(result.malformed)
        if listed < result.skipped_count + result.malformed_count:
            self.stdout.write(f"  (only the first {listed} problems are listed)")
        if result.complete is False:
            self.stderr.write(
                "Warning: the file does not end with the export's end line (or its count "
                "differs): it may have been cut short."
            )


def _action_options(options: dict[str, Any]) -> dict[str, Any]:
    names = ("queue", "task_id", "all_tasks", "state", "group", "json")
    return {name: options.get(name) for name in names}
