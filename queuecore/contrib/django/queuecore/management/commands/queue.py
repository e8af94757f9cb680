"""``manage.py queue stats|ls|inspect|history|pause|unpause|remove``: asynq's queue commands,
plus ``breakdown`` (tasks of a state by type and by error signature) and ``check-layout``
(whether the data is in the asynq layout this version reads); neither is in asynq's CLI."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from queuecore.contrib.django.queuecore.management.inspector_command import (
    InspectorCommand,
    duration,
    printable,
)
from queuecore.inspection import Breakdown, QueueInfo
from queuecore.inspector import DEFAULT_BREAKDOWN_BUDGET, Inspector

STATES = ("active", "pending", "aggregating", "scheduled", "retry", "archived", "completed")


def _error_rate(processed: int, failed: int) -> str:
    return f"{failed / processed:.2%}" if processed else "N/A"


class Command(InspectorCommand):
    help = "Inspect and manage queues (asynq CLI's queue commands)."
    subcommands = {
        "stats": "Task counts of every queue by state, today's totals and Redis info.",
        "ls": "List queue names.",
        "inspect": "Show the details of queues.",
        "history": "Show processed/failed counts per UTC day.",
        "pause": "Pause queues: servers stop taking their tasks.",
        "unpause": "Resume paused queues.",
        "remove": "Delete a queue (refused if it has tasks, unless --force).",
        "breakdown": "Count the tasks of a state by type and by last-error signature.",
        "check-layout": (
            "Check that the data is in asynq v0.22+'s layout (what v0.26 writes); "
            "exits 1 when it is not."
        ),
    }

    def arguments_inspect(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", metavar="QUEUE")
        parser.add_argument(
            "--memory", action="store_true", help="also sample memory usage (MEMORY USAGE)"
        )

    def arguments_history(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", metavar="QUEUE")
        parser.add_argument("--days", type=int, default=10, help="number of days (default 10)")

    def arguments_pause(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", metavar="QUEUE")

    arguments_unpause = arguments_pause

    def arguments_remove(self, parser: CommandParser) -> None:
        parser.add_argument("queues", nargs="+", metavar="QUEUE")
        parser.add_argument(
            "--force", action="store_true", help="delete even if the queue has tasks"
        )

    def arguments_breakdown(self, parser: CommandParser) -> None:
        parser.add_argument("queue", metavar="QUEUE")
        parser.add_argument("state", choices=STATES, metavar="STATE", help=", ".join(STATES))
        parser.add_argument("--group", default=None, help="group (required for aggregating)")
        parser.add_argument(
            "--budget",
            type=int,
            default=DEFAULT_BREAKDOWN_BUDGET,
            help=f"most tasks to scan (default {DEFAULT_BREAKDOWN_BUDGET:,})",
        )
        parser.add_argument("--cursor", default=None, help="continue a partial breakdown")
        parser.add_argument(
            "--all",
            action="store_true",
            dest="scan_all",
            help="scan the whole state, --budget tasks per round (each round a bounded scan)",
        )

    def handle_stats(self, inspector: Inspector, *, json: bool, **_: Any) -> None:
        infos = inspector.overview(cheap=True)
        totals = {s: sum(getattr(q, s) for q in infos) for s in STATES}
        processed = sum(q.processed for q in infos)
        failed = sum(q.failed for q in infos)
        redis = inspector.redis_info()
        if json:
            self.emit_json(
                {
                    "states": totals,
                    "queues": infos,
                    "processed": processed,
                    "failed": failed,
                    "redis": {
                        "version": redis.version,
                        "uptime_in_days": redis.info.get("uptime_in_days", ""),
                        "connected_clients": redis.info.get("connected_clients", ""),
                        "used_memory_human": redis.info.get("used_memory_human", ""),
                        "used_memory_peak_human": redis.info.get("used_memory_peak_human", ""),
                    },
                }
            )
            return
        self.stdout.write("Task Count by State")
        self.table(list(STATES), [[totals[s] for s in STATES]])
        self.stdout.write("")
        self.stdout.write("Task Count by Queue")
        self.table(
            [f"{q.queue} (paused)" if q.paused else q.queue for q in infos],
            [[q.size for q in infos]],
        )
        self.stdout.write("")
        today = infos[0].timestamp.date().isoformat() if infos else ""
        self.stdout.write(f"Daily Stats {today} UTC")
        self.table(
            ["processed", "failed", "error rate"],
            [[processed, failed, _error_rate(processed, failed)]],
        )
        self.stdout.write("")
        self.stdout.write("Redis Info")
        info = redis.info
        self.table(
            ["version", "uptime", "connections", "memory usage", "peak memory usage"],
            [
                [
                    redis.version,
                    f"{info.get('uptime_in_days', '?')} days",
                    info.get("connected_clients", ""),
                    info.get("used_memory_human", ""),
                    info.get("used_memory_peak_human", ""),
                ]
            ],
        )

    def handle_ls(self, inspector: Inspector, *, json: bool, **_: Any) -> None:
        names = inspector.queues()
        if json:
            self.emit_json(names)
            return
        for name in names:
            self.stdout.write(name)

    def handle_inspect(
        self, inspector: Inspector, *, queues: list[str], memory: bool, json: bool, **_: Any
    ) -> None:
        infos = [inspector.get_queue_info(q, cheap=not memory) for q in queues]
        if json:
            self.emit_json(infos)
            return
        for i, info in enumerate(infos):
            if i:
                self.stdout.write("")
            self._print_info(info)

    def _print_info(self, info: QueueInfo) -> None:
        self.stdout.write("Queue Info")
        pairs: list[tuple[str, object]] = [
            ("Name", info.queue),
            ("Size", info.size),
            ("Groups", info.groups),
            ("Paused", str(info.paused).lower()),
            ("Latency", duration(info.latency)),
        ]
        if info.memory_usage is not None:
            pairs.append(("Memory", f"{info.memory_usage} bytes"))
        self.fields(pairs)
        self.stdout.write("")
        self.stdout.write("Task Count by State")
        self.table(list(STATES), [[getattr(info, s) for s in STATES]])
        self.stdout.write("")
        self.stdout.write(f"Daily Stats {info.timestamp.date().isoformat()} UTC")
        self.table(
            ["processed", "failed", "error rate"],
            [[info.processed, info.failed, _error_rate(info.processed, info.failed)]],
        )

    def handle_history(
        self, inspector: Inspector, *, queues: list[str], days: int, json: bool, **_: Any
    ) -> None:
        histories = {q: inspector.history(q, days) for q in queues}
        if json:
            self.emit_json(histories)
            return
        for i, (queue, history) in enumerate(histories.items()):
            if i:
                self.stdout.write("")
            self.stdout.write(f"Queue: {queue}")
            self.table(
                ["date (UTC)", "processed", "failed", "error rate"],
                [
                    [d.date.isoformat(), d.processed, d.failed, _error_rate(d.processed, d.failed)]
                    for d in history
                ],
            )

    def handle_pause(
        self, inspector: Inspector, *, queues: list[str], json: bool, **_: Any
    ) -> None:
        for queue in queues:
            inspector.pause_queue(queue)
        self._done("paused", queues, json)

    def handle_unpause(
        self, inspector: Inspector, *, queues: list[str], json: bool, **_: Any
    ) -> None:
        for queue in queues:
            inspector.unpause_queue(queue)
        self._done("unpaused", queues, json)

    def handle_remove(
        self, inspector: Inspector, *, queues: list[str], force: bool, json: bool, **_: Any
    ) -> None:
        for queue in queues:
            inspector.delete_queue(queue, force=force)
        self._done("removed", queues, json)

    def handle_breakdown(
        self,
        inspector: Inspector,
        *,
        queue: str,
        state: str,
        group: str | None,
        budget: int,
        cursor: str | None,
        scan_all: bool,
        json: bool,
        **_: Any,
    ) -> None:
        result = inspector.breakdown(queue, state, group=group, budget=budget, cursor=cursor)
        while scan_all and not result.done:
            result = result.merged(
                inspector.breakdown(queue, state, group=group, budget=budget, cursor=result.cursor)
            )
        if json:
            self.emit_json(result)
            return
        self._print_breakdown(result, cursor)

    def _print_breakdown(self, result: Breakdown, start: str | None) -> None:
        counted = result.counted

        def share(count: int) -> str:
            return f"{count / counted:.1%}" if counted else "N/A"

        self.stdout.write(f"Task Count by Type ({result.state.value})")
        self.table(
            ["type", "count", "share"],
            [[t.type or "(none)", t.count, share(t.count)] for t in result.types],
        )
        if result.errors:
            self.stdout.write("")
            self.stdout.write("Last Errors by Signature")
            self.table(
                ["count", "share", "signature", "example"],
                [
                    [e.count, share(e.count), e.signature, printable(e.example.encode())]
                    for e in result.errors
                ],
            )
        self.stdout.write("")
        scanned = f"Scanned {result.scanned} of {result.total} {result.state.value} tasks"
        if start:
            scanned += f" from position {start}"
        if result.skipped:
            scanned += f" ({result.skipped} unreadable, not counted)"
        if result.cursor is not None:
            scanned += f"; continue with --cursor {result.cursor}, or scan them all with --all"
        self.stdout.write(scanned + ".")

    def handle_check_layout(self, inspector: Inspector, *, json: bool, **_: Any) -> None:
        report = inspector.layout_check()
        if json:
            self.emit_json(report)
        else:
            self.fields(
                [
                    ("Layout", report.layout),
                    ("Compatible", "yes" if report.compatible else "no"),
                    ("Queues checked", f"{report.queues_checked} of {report.queues_total}"),
                ]
            )
            if report.findings:
                self.stdout.write("")
                self.stdout.write("Findings")
                for finding in report.findings:
                    self.stdout.write(f"- {finding}")
            if report.advice:
                self.stdout.write("")
                self.stdout.write(report.advice)
        if not report.compatible:
            raise CommandError(f"incompatible data layout: {report.layout}", returncode=1)

    def _done(self, verb: str, queues: list[str], json: bool) -> None:
        if json:
            self.emit_json({verb: queues})
            return
        for queue in queues:
            self.stdout.write(f"Successfully {verb} queue {queue!r}")
