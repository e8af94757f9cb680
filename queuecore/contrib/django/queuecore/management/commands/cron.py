"""``manage.py cron ls|history`` — asynq's ``cron`` commands: scheduler entries and their runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from queuecore.contrib.django.queuecore.management.inspector_command import (
    InspectorCommand,
    printable,
    when,
)
from queuecore.inspector import DEFAULT_PAGE_SIZE, Inspector


class Command(InspectorCommand):
    help = "Inspect periodic tasks registered by schedulers (asynq CLI's cron commands)."
    subcommands = {
        "ls": "List scheduler entries.",
        "history": "Show the latest enqueue events of scheduler entries.",
    }

    def arguments_history(self, parser: CommandParser) -> None:
        parser.add_argument("entries", nargs="+", metavar="ENTRY_ID")
        parser.add_argument("--page", type=int, default=1)
        parser.add_argument("--size", type=int, default=DEFAULT_PAGE_SIZE, help="page size")

    def handle_ls(self, inspector: Inspector, *, json: bool, **_: Any) -> None:
        entries = inspector.scheduler_entries()
        if json:
            self.emit_json(entries)
            return
        now = inspector.now()
        self.table(
            ["EntryID", "Spec", "Type", "Payload", "Options", "Next", "Prev"],
            [
                [
                    e.id,
                    e.spec,
                    e.task_type,
                    printable(e.task_payload) or "non-printable bytes",
                    "[" + " ".join(e.options) + "]",
                    when(e.next_enqueue_at, now),
                    when(e.prev_enqueue_at, now) if e.prev_enqueue_at else "N/A",
                ]
                for e in entries
            ],
        )

    def handle_history(
        self,
        inspector: Inspector,
        *,
        entries: list[str],
        page: int,
        size: int,
        json: bool,
        **_: Any,
    ) -> None:
        events = {e: inspector.scheduler_enqueue_events(e, page, size) for e in entries}
        if json:
            self.emit_json(events)
            return
        for i, (entry, items) in enumerate(events.items()):
            if i:
                self.stdout.write("")
            self.stdout.write(f"Entry: {entry}")
            self.table(
                ["Enqueued At", "TaskID"],
                [
                    [ev.enqueued_at.isoformat() if ev.enqueued_at else "-", ev.task_id]
                    for ev in items
                ],
            )
