"""``manage.py alerts``: run the alert loop of ``QUEUECORE["ALERTS"]`` on its own.

``runscheduler`` (and ``runworker --with-scheduler``) already run it; this command is for a
deployment without a scheduler, or to look:

* ``--dry-run`` evaluates once and prints what would be sent (nothing is sent or recorded);
* ``--once`` evaluates once, sends, retries failed deliveries per the channels, and exits;
* ``--test CHANNEL`` sends one test message to a channel and exits (1 when it failed);
* without these it runs until SIGINT/SIGTERM. Several copies may run: each message goes once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from queuecore.alerts import AlertMessage, AlertService, send_now
from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.contrib.django.alerts import alert_channels, alert_service, sender_for
from queuecore.contrib.django.conf import redis_url
from queuecore.contrib.django.queuecore.management.commands.runscheduler import (
    LOG_LEVELS,
    _configure_logging,
    _stop_on_signals,
)
from queuecore.errors import QueueCoreError
from queuecore.rdb.alerts import AlertStore
from queuecore.rdb.connection import RedisSettings


class Command(BaseCommand):
    help = (
        'Run the alert loop of QUEUECORE["ALERTS"]: a message when a health finding opens, '
        "reminders while it stays open, one when it resolves. --dry-run prints what it would send."
    )
    stealth_options = ("stop_event", "clock")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--redis-url", default=None, help='Redis URL (default: QUEUECORE["REDIS_URL"])'
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run", action="store_true", help="print what would be sent, send nothing"
        )
        mode.add_argument("--once", action="store_true", help="evaluate once, deliver, exit")
        mode.add_argument("--test", metavar="CHANNEL", help="send a test message to CHANNEL")
        parser.add_argument(
            "--log-level", default="info", choices=LOG_LEVELS, help="logging level (default info)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["redis_url"] or redis_url()
        clock: Clock = options.get("clock") or SYSTEM_CLOCK
        _configure_logging(options["log_level"])
        if options["test"]:
            self._send_test(url, options["test"], clock)
            return
        try:
            service = alert_service(url, clock=clock)
        except (ImproperlyConfigured, QueueCoreError) as exc:
            raise CommandError(str(exc)) from exc
        if service is None:
            raise CommandError('No alert channels: add some to QUEUECORE["ALERTS"].')
        try:
            if options["dry_run"]:
                self._dry_run(service)
            elif options["once"]:
                self._once(service, clock)
            else:
                self._forever(service, url, options.get("stop_event"))
        except QueueCoreError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            service.close()

    def _dry_run(self, service: AlertService) -> None:
        planned = [p for p in service.loop.plan() if p.message is not None]
        if not planned:
            self.stdout.write(
                "Nothing would be sent: no finding opened, is due a reminder or ended."
            )
        for item in planned:
            assert item.message is not None
            channel = item.channel
            self.stdout.write(
                f"Would send {item.message.kind.value} to {channel.name} "
                f"({channel.type}, {channel.target}):"
            )
            for line in item.message.as_text().splitlines():
                self.stdout.write(f"    {line}")

    def _once(self, service: AlertService, clock: Clock) -> None:
        messages, records = service.run_once()
        # Retries wait in real time here: a one-shot run delivers or gives up before it exits.
        while service.pending():
            due = min(
                (d for o in service.outboxes.values() if (d := o.next_due()) is not None),
                default=clock.now(),
            )
            time.sleep(max(0.0, min(1.0, due - clock.now())))
            records += [r for o in service.outboxes.values() for r in o.run_once()]
        for record in records:
            self.stdout.write(f"{record.outcome:<8}  {record.channel}  {record.title}")
            if record.error:
                self.stdout.write(f"          {record.error}")
        self.stdout.write(f"{len(messages)} message(s) decided.")

    def _forever(self, service: AlertService, url: str, given: Any) -> None:
        channels = service.loop.channels
        self.stdout.write(f"queuecore alerts on {RedisSettings.from_url(url).display()}")
        self.stdout.write(f"  Every {service.loop.interval:g}s to {len(channels)} channel(s):")
        for channel in channels:
            self.stdout.write(f"    {channel.name}  {channel.type}  {channel.target}")
        if given is not None:
            service.run_forever(given)
            return
        stop = threading.Event()
        with _stop_on_signals(stop):
            service.run_forever(stop)

    def _send_test(self, url: str, name: str, clock: Clock) -> None:
        try:
            channels = {c.name: c for c in alert_channels()}
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        channel = channels.get(name)
        if channel is None:
            known = ", ".join(channels) or "none"
            raise CommandError(f"No alert channel named {name!r} (channels: {known}).")
        store = AlertStore(RedisSettings.from_url(url).connect())
        try:
            now = clock.now()
            record = send_now(
                channel, sender_for(channel, clock), AlertMessage.test(name, now), store, now
            )
        finally:
            store.client.close()
        if record.outcome != "sent":
            raise CommandError(f"Test message to {name} failed: {record.error}")
        self.stdout.write(f"Test message sent to {name} ({channel.target}).")
