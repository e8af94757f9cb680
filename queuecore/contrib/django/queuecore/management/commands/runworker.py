"""``manage.py runworker``: serve the queues with the handlers of every app's ``tasks`` module.

Options map one to one onto :class:`queuecore.server.ServerConfig`; settings come from
``QUEUECORE`` (REDIS_URL, QUEUES, CONCURRENCY, STRICT_PRIORITY, SHUTDOWN_TIMEOUT,
GROUP_AGGREGATOR and its GROUP_* knobs) and options override them. The worker itself lives in
``queuecore.server``.

    manage.py runworker -q critical=6 -q default=3 -q low=1 --concurrency 20
    manage.py runworker --queues critical=6,default=3 --strict --burst
    manage.py runworker --processes 2          # two worker processes (CPU-bound handlers)
    manage.py runworker --with-scheduler       # also run QUEUECORE["SCHEDULE"]

Signals, as Go asynq's ``Server.Run()``: SIGTERM/SIGINT (Ctrl-C) shut down gracefully; SIGTSTP
(Ctrl-Z in a terminal — it does not suspend the worker) stops taking new tasks while in-flight
ones finish, and the server shows as "stopped" until a SIGTERM ends it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from queuecore.contrib.django.conf import group_options, queuecore_setting, redis_url
from queuecore.contrib.django.discovery import autodiscover_tasks
from queuecore.errors import QueueCoreError
from queuecore.handlers import ServeMux, default_mux
from queuecore.rdb.connection import RedisSettings
from queuecore.server import Server, ServerConfig
from queuecore.server.policy import parse_queue_spec
from queuecore.server.pool import run_in_processes

LOG_LEVELS = ("debug", "info", "warning", "error")


def parse_queues(values: list[str]) -> dict[str, int]:
    """``["critical=6,default=3", "low"]`` → ``{"critical": 6, "default": 3, "low": 1}``."""
    try:
        return parse_queue_spec(values)
    except QueueCoreError as exc:
        raise CommandError(str(exc)) from exc


def _configure_logging(level: str) -> None:
    package_logger = logging.getLogger("queuecore")
    package_logger.setLevel(level.upper())
    if not package_logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")
        )
        package_logger.addHandler(handler)


def describe_queues(queues: Mapping[str, int], strict: bool) -> str:
    ordered = sorted(queues.items(), key=lambda kv: (-kv[1], kv[0]))
    listing = ", ".join(f"{name}={weight}" for name, weight in ordered)
    return f"{listing} ({'strict priority' if strict else 'weighted'})"


class Command(BaseCommand):
    help = (
        "Run a worker: process tasks from Redis with the handlers registered in the apps' "
        "tasks modules (asynq-compatible; Go and Python workers can share queues). "
        "SIGTERM/SIGINT (Ctrl-C) shut down gracefully; SIGTSTP (Ctrl-Z, as in Go asynq) stops "
        "taking new tasks and lets in-flight ones finish, without suspending the process."
    )
    # For tests and embedding: a ServeMux instead of the default registry.
    stealth_options = ("mux",)
    # Only the checks a worker depends on: the whole set imports the URLconf, and with it the
    # dashboard, admin views, whitenoise and prometheus — memory every idle worker would keep.
    requires_system_checks = ["queuecore", "tasks"]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-q",
            "--queue",
            dest="queue",
            action="append",
            default=[],
            metavar="NAME[=WEIGHT]",
            help="a queue to serve and its weight; repeat for several",
        )
        parser.add_argument(
            "--queues",
            default=None,
            metavar="NAME=WEIGHT,...",
            help='queues and weights, e.g. critical=6,default=3 (default QUEUECORE["QUEUES"])',
        )
        parser.add_argument("--concurrency", type=int, default=None, help="handlers at once")
        parser.add_argument(
            "--strict", action="store_true", default=None, help="strict priority order"
        )
        parser.add_argument(
            "--shutdown-timeout",
            type=float,
            default=None,
            help="seconds in-flight tasks get after SIGTERM before they are requeued (default 8)",
        )
        parser.add_argument(
            "--burst", action="store_true", help="exit once the served queues are empty"
        )
        parser.add_argument(
            "--processes", type=int, default=1, help="worker processes to run (default 1)"
        )
        parser.add_argument(
            "--with-scheduler",
            action="store_true",
            help='also run the scheduler for QUEUECORE["SCHEDULE"] in this command',
        )
        parser.add_argument(
            "--log-level", default="info", choices=LOG_LEVELS, help="logging level (default info)"
        )
        parser.add_argument(
            "--redis-url", default=None, help='Redis URL (default QUEUECORE["REDIS_URL"])'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = self.server_config(options)
        url = options["redis_url"] or redis_url()
        processes = options["processes"]
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        try:
            display = RedisSettings.from_url(url).display()
        except QueueCoreError as exc:
            raise CommandError(str(exc)) from exc
        _configure_logging(options["log_level"])
        found = autodiscover_tasks()
        mux: ServeMux = options.get("mux") or default_mux
        scheduler_entries = self.scheduler_entries() if options["with_scheduler"] else None
        self.banner(config, display, mux, found, processes, options, scheduler_entries)
        if len(mux) == 0:
            self.stderr.write(
                "warning: no handlers are registered; every task will fail with "
                '"handler not found". Add @handler("type") functions to an app\'s tasks.py.'
            )

        def serve() -> int:
            server = Server.from_url(url, mux=mux, config=config)
            server.run(burst=options["burst"])
            return 0

        def schedule(stop: threading.Event) -> None:
            self.run_scheduler(url, scheduler_entries, stop)

        waiting = schedule if scheduler_entries is not None else None
        try:
            if processes == 1:
                if waiting is None:
                    serve()
                else:
                    self.serve_with_scheduler(serve, waiting)
            else:
                code = run_in_processes(processes, serve, while_waiting=waiting)
                if code:
                    raise CommandError(f"a worker process exited with status {code}")
        except QueueCoreError as exc:
            raise CommandError(str(exc)) from exc

    def server_config(self, options: Mapping[str, Any]) -> ServerConfig:
        values = list(options["queue"])
        if options["queues"]:
            values.append(options["queues"])
        queues = parse_queues(values) if values else queuecore_setting("QUEUES")
        concurrency = options["concurrency"] or queuecore_setting("CONCURRENCY")
        strict = options["strict"] or bool(queuecore_setting("STRICT_PRIORITY"))
        timeout = options["shutdown_timeout"]
        if timeout is None:
            timeout = queuecore_setting("SHUTDOWN_TIMEOUT")
        try:
            return ServerConfig(
                queues=queues,
                concurrency=int(concurrency),
                strict_priority=strict,
                shutdown_timeout=float(timeout),
                **group_options(),
            )
        except (QueueCoreError, ImproperlyConfigured, TypeError, ValueError) as exc:
            raise CommandError(f"invalid worker configuration: {exc}") from exc

    def banner(
        self,
        config: ServerConfig,
        display: str,
        mux: ServeMux,
        found: list[str],
        processes: int,
        options: Mapping[str, Any],
        scheduler_entries: list[Any] | None,
    ) -> None:
        patterns = mux.patterns()
        lines = [
            f"queuecore worker (asynq v0.26 protocol), pid {os.getpid()}",
            f"  Redis:        {display}",
            f"  Queues:       {describe_queues(config.queues, config.strict_priority)}",
            f"  Concurrency:  {config.concurrency} per process x {processes} process(es)",
            f"  Shutdown:     in-flight tasks get {config.shutdown_timeout:g}s, then requeued",
            "  Signals:      TERM/INT (Ctrl-C) shut down; TSTP (Ctrl-Z) stops taking new tasks",
            f"  Mode:         {'burst (exit when empty)' if options['burst'] else 'serve'}",
            f"  Task modules: {', '.join(found) or '(none found)'}",
            f"  Handlers:     {len(patterns)}",
        ]
        if config.group_aggregator is not None:
            aggregate = config.group_aggregator
            name = f"{aggregate.__module__}.{getattr(aggregate, '__qualname__', aggregate)}"
            lines.insert(-2, f"  Aggregator:   {name} (grace {config.group_grace_period:g}s)")
        lines.extend(f"    {pattern}" for pattern in patterns)
        if scheduler_entries is not None:
            lines.append(f"  Scheduler:    {len(scheduler_entries)} entries")
        for line in lines:
            self.stdout.write(line)

    def scheduler_entries(self) -> list[Any]:
        try:
            from queuecore.contrib.django.queuecore.management.commands.runscheduler import (
                schedule_from_settings,
            )
        except ImportError as exc:
            raise CommandError(f"--with-scheduler needs queuecore.scheduler: {exc}") from exc
        from queuecore.contrib.django.alerts import alert_channels, alert_interval

        try:
            # The alert settings too: the scheduler thread runs the alert loop, and a bad
            # setting is reported here, before the worker starts, not lost in that thread.
            alert_channels()
            alert_interval()
            return schedule_from_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc

    def run_scheduler(self, url: str, entries: Any, stop: threading.Event) -> None:
        from queuecore.clock import SYSTEM_CLOCK
        from queuecore.contrib.django.alerts import alerts_alongside
        from queuecore.scheduler import Scheduler

        scheduler = Scheduler.from_url(url, entries=entries)
        try:
            scheduler.start()
            # The alert loop of QUEUECORE["ALERTS"] comes with the scheduler, in its own threads.
            with alerts_alongside(url, clock=SYSTEM_CLOCK) as lines:
                for line in lines:
                    self.stdout.write(line)
                scheduler.run_forever(stop)
        finally:
            scheduler.close()

    def serve_with_scheduler(self, serve: Any, schedule: Any) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=schedule, args=(stop,), name="queuecore-scheduler")
        thread.start()
        try:
            serve()
        finally:
            stop.set()
            thread.join(timeout=15)
