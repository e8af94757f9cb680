"""Fleet overview benchmark: 3 Redis instances x 30 queues, all up, then one down.

Run: ``.venv/bin/python bench/fleet_bench.py`` (starts its own three redis-servers on free ports
and uses an in-memory SQLite database; touches nothing else).

Each instance gets 30 queues with tasks in every state and today's processed/failed counters.
The fleet page (``/fleet/``, the whole Django request: session, roles, the parallel reads, the
findings, the template) is requested by a logged-in admin through Django's test client, and the
wall time of each request is measured. Three scenarios:

* all up;
* one instance stopped (its redis-server terminated: connections are refused at once);
* one instance that accepts connections and never answers (a hung Redis), whose ``TIMEOUT`` is
  the bound the page must keep.

Targets (issue #16): all up <= 150 ms; with one instance down <= its TIMEOUT + 50 ms.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DATABASE_PATH"] = ":memory:"

import django  # noqa: E402
import redis  # noqa: E402

QUEUES = 30
TARGET_UP_MS = 150.0
SLACK_DOWN_MS = 50.0
DOWN_TIMEOUT = 0.5


def seed(port: int, instance: str) -> None:
    from tests.support.factories import seed_task

    client = redis.Redis(port=port)
    client.flushall()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for n in range(QUEUES):
        queue = f"{instance}-q{n:02d}"
        for state in ("pending", "pending", "scheduled", "retry", "archived", "completed"):
            extra = {"error_msg": "boom", "retried": 1} if state in ("retry", "archived") else {}
            if state == "completed":
                extra = {"completed_at": int(time.time()), "retention": 3600}
            seed_task(client, state, queue=queue, **extra)
        client.set(f"asynq:{{{queue}}}:processed:{today}", 100 + n)
        client.set(f"asynq:{{{queue}}}:failed:{today}", n)
    client.close()


def silent_listener() -> tuple[socket.socket, int]:
    """Accepts connections and never answers: a hung Redis."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def configure(urls: dict[str, str], timeouts: dict[str, float]) -> None:
    import importlib

    from django.conf import settings
    from django.urls import clear_url_caches

    settings.QUEUECORE = {
        **getattr(settings, "QUEUECORE", {}),
        "REDIS_URL": urls["default"],
        "INSTANCES": {
            "default": {"LABEL": "Production", "TIMEOUT": timeouts.get("default", 1.0)},
            **{
                name: {"URL": url, "TIMEOUT": timeouts.get(name, 1.0)}
                for name, url in urls.items()
                if name != "default"
            },
        },
    }
    import config.urls
    import dashboard.site_urls

    importlib.reload(dashboard.site_urls)
    importlib.reload(config.urls)
    clear_url_caches()


def measure(client: object, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/fleet/")  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return timings


def row(name: str, timings: list[float], target: float) -> str:
    median = statistics.median(timings)
    worst = max(timings)
    p95 = sorted(timings)[int(len(timings) * 0.95) - 1]
    verdict = "ok" if p95 <= target else "OVER"
    return f"| {name} | {median:.1f} | {p95:.1f} | {worst:.1f} | {target:.0f} | {verdict} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from tests.support.redis_server import start_redis

    setup_test_environment()
    call_command("migrate", verbosity=0)
    servers = {name: start_redis() for name in ("default", "staging", "eu")}
    listener, silent_port = silent_listener()
    try:
        for name, server in servers.items():
            seed(server.port, name)
        urls = {name: server.url for name, server in servers.items()}
        configure(urls, {})
        admin = User.objects.create_superuser("bench", password="bench-password-1")
        client = Client()
        client.force_login(admin)
        measure(client, 3)  # warm: connections, templates, URL resolvers
        lines = [
            f"Fleet overview, 3 instances x {QUEUES} queues, {args.runs} requests each (ms)",
            "",
            "| scenario | median | p95 | max | target | |",
            "|---|---|---|---|---|---|",
        ]
        lines.append(row("all up", measure(client, args.runs), TARGET_UP_MS))

        configure(urls, {"eu": DOWN_TIMEOUT})
        servers["eu"].stop()
        measure(client, 2)
        target = DOWN_TIMEOUT * 1000 + SLACK_DOWN_MS
        lines.append(row("eu stopped (refused)", measure(client, args.runs), target))

        configure({**urls, "eu": f"redis://127.0.0.1:{silent_port}/0"}, {"eu": DOWN_TIMEOUT})
        lines.append(row(f"eu hung, TIMEOUT {DOWN_TIMEOUT:g} s", measure(client, 10), target))
        print("\n".join(lines))
    finally:
        listener.close()
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
