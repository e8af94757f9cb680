"""``manage.py runscheduler``: enqueue the periodic tasks of ``QUEUECORE["SCHEDULE"]``.

Each item is ``{"cron": "*/5 * * * *", "task": "report:generate", "payload": {...},
"options": {"queue": "low", "max_retry": 3, "timeout": 120}, "timezone": "Europe/Berlin"}``
(see :meth:`queuecore.scheduler.SchedulerEntrySpec.from_setting`). The command only maps settings
and options onto :class:`queuecore.scheduler.Scheduler`; several copies may run at once (each tick
is enqueued once). It stops on SIGINT/SIGTERM and removes its entries from Redis, as asynq does.

With ``QUEUECORE["ALERTS"]`` set it also runs the alert loop (in its own threads, so a hanging
receiver never delays a tick); ``--no-alerts`` leaves that to another process.

``runworker --with-scheduler`` runs the same scheduler in the worker process through
:func:`schedule_from_settings` and :func:`scheduler_banner`.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.contrib.django.alerts import alerts_alongside
from queuecore.contrib.django.conf import queuecore_setting, redis_url
from queuecore.errors import QueueCoreError
from queuecore.options import format_duration
from queuecore.rdb.connection import RedisSettings
from queuecore.scheduler import Scheduler, SchedulerEntrySpec, StopSignal

LOG_LEVELS = ("debug", "info", "warning", "error")


def schedule_from_settings() -> list[SchedulerEntrySpec]:
    """``QUEUECORE["SCHEDULE"]`` as entry specs; ImproperlyConfigured names the bad item."""
    items = queuecore_setting("SCHEDULE") or []
    if not isinstance(items, list | tuple):
        raise ImproperlyConfigured(
            f'QUEUECORE["SCHEDULE"] must be a list of dicts, got {type(items).__name__}'
        )
    entries = []
    for index, item in enumerate(items):
        try:
            entries.append(SchedulerEntrySpec.from_setting(item))
        except QueueCoreError as exc:
            raise ImproperlyConfigured(f'QUEUECORE["SCHEDULE"][{index}]: {exc}') from exc
    return entries


def _relative(seconds: float) -> str:
    whole = max(0, round(seconds))
    return "now" if whole == 0 else f"in {format_duration(whole)}"


def scheduler_banner(scheduler: Scheduler, *, redis: str, now: float) -> list[str]:
    """Start-up lines: the scheduler, where it writes, and each entry with its next run."""
    entries = scheduler.entries()
    lines = [
        f"queuecore scheduler {scheduler.id}",
        f"  Redis:    {redis}",
        f"  Time zone for cron specs without one: {scheduler.config.timezone}",
        f"  Entries:  {len(entries)}",
    ]
    if not entries:
        lines.append('  (none: add periodic tasks to QUEUECORE["SCHEDULE"])')
    for entry in entries:
        options = " ".join(entry.options) or "(default options)"
        lines.append(f"    {entry.spec}  {entry.task_type}  {options}")
        if entry.next_run is not None:
            next_at = entry.next_run.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            lines.append(
                f"      next run {next_at} ({_relative(entry.next_run.timestamp() - now)})"
            )
    return lines


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``; handlers can only be installed from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _configure_logging(level: str) -> None:
    package_logger = logging.getLogger("queuecore")
    package_logger.setLevel(level.upper())
    if not package_logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        package_logger.addHandler(handler)


class Command(BaseCommand):
    help = (
        'Run the scheduler: enqueue the periodic tasks of QUEUECORE["SCHEDULE"] on time '
        "(cron specs, @every, @daily...). Several may run at once; each tick is enqueued once."
    )
    # For tests: a stop signal and a clock instead of signals and real time.
    stealth_options = ("stop_event", "clock")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--redis-url", default=None, help='Redis URL (default: QUEUECORE["REDIS_URL"])'
        )
        parser.add_argument(
            "--log-level", default="info", choices=LOG_LEVELS, help="logging level (default info)"
        )
        parser.add_argument(
            "--no-alerts",
            action="store_true",
            help='do not run the alert loop of QUEUECORE["ALERTS"] in this process',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            entries = schedule_from_settings()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        url = options["redis_url"] or redis_url()
        clock: Clock = options.get("clock") or SYSTEM_CLOCK
        _configure_logging(options["log_level"])
        try:
            display = RedisSettings.from_url(url).display()
            scheduler = Scheduler.from_url(url, entries=entries, clock=clock)
        except QueueCoreError as exc:
            raise CommandError(str(exc)) from exc
        try:
            scheduler.start()
            for line in scheduler_banner(scheduler, redis=display, now=clock.now()):
                self.stdout.write(line)
            with alerts_alongside(url, clock=clock, enabled=not options["no_alerts"]) as lines:
                for line in lines:
                    self.stdout.write(line)
                given: StopSignal | None = options.get("stop_event")
                if given is not None:
                    scheduler.run_forever(given)
                else:
                    stop = threading.Event()
                    with _stop_on_signals(stop):
                        scheduler.run_forever(stop)
            self.stdout.write(
                f"queuecore scheduler stopped at "
                f"{datetime.fromtimestamp(clock.now(), UTC).strftime('%Y-%m-%d %H:%M:%S UTC')}"
            )
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        finally:
            scheduler.close()
