"""``manage.py demo``: enqueue realistic tasks continuously until Ctrl-C (or ``--rounds``)."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.traffic import TrafficGenerator
from queuecore.contrib.django.conf import redis_url
from queuecore.errors import RedisUnavailableError


class Command(BaseCommand):
    help = (
        "Enqueue demo tasks (email:send, image:resize, report:generate, webhook:deliver, "
        "email:digest) across the critical/default/low queues, one round per interval."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
        parser.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
        parser.add_argument("--seed", type=int, default=None, help="seed for a repeatable mix")

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.generate(stop, options)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def generate(self, stop: threading.Event, options: dict[str, Any]) -> None:
        from queuecore import Client, Inspector

        client = Client.from_url(redis_url())
        inspector = Inspector.from_url(redis_url())

        def group_size(queue: str, group: str) -> int:
            return next((g.size for g in inspector.groups(queue) if g.group == group), 0)

        generator = TrafficGenerator(client, seed=options["seed"], group_size=group_size)
        rounds = options["rounds"]
        self.stdout.write(f"demo: enqueuing every {options['interval']} s (Ctrl-C stops)")
        while not stop.is_set():
            try:
                generator.run_once()
            except RedisUnavailableError as exc:
                self.stderr.write(f"demo: Redis unavailable ({exc}); retrying")
            if rounds and generator.tick >= rounds:
                break
            stop.wait(options["interval"])
        summary = ", ".join(f"{k}={v}" for k, v in sorted(generator.counts.items()))
        self.stdout.write(f"demo: stopped after {generator.tick} rounds ({summary})")
