"""``manage.py server ls`` — asynq's ``server ls``: live worker servers."""

from __future__ import annotations

from typing import Any

from queuecore.contrib.django.queuecore.management.inspector_command import InspectorCommand, when
from queuecore.inspector import Inspector


class Command(InspectorCommand):
    help = "List worker servers (asynq CLI's server commands)."
    subcommands = {"ls": "List live servers with their queues and busy workers."}

    def handle_ls(self, inspector: Inspector, *, json: bool, **_: Any) -> None:
        servers = inspector.servers()
        if json:
            self.emit_json(servers)
            return
        now = inspector.now()
        self.table(
            ["Host", "PID", "State", "Active Workers", "Queues", "Started"],
            [
                [
                    s.host,
                    s.pid,
                    s.status,
                    f"{len(s.active_workers)}/{s.concurrency}",
                    " ".join(f"{q}:{p}" for q, p in sorted(s.queues.items())),
                    when(s.started, now),
                ]
                for s in servers
            ],
        )
