"""Handlers for the demo's task types, discovered by ``runworker`` like any app's ``tasks`` module.

They pretend to work (a short sleep) and fail the way real integrations fail, so that a fresh
``scripts/run`` shows every state: transient errors retry, permanent ones archive at once
(``SkipRetry``), results are written for tasks kept with a retention, and long reports keep the
active tab busy. The failure rules key off the payload, so the enqueuer decides what fails.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from queuecore.client import Task
from queuecore.handlers import HandlerTask, SkipRetry, handler

# Hosts the enqueuer uses for webhooks that fail sometimes / always.
FLAKY_HOST = "flaky.example.net"
DOWN_HOST = "down.example.org"
# Recipients whose mailbox "does not exist": archived without retry.
BOUNCE_DOMAIN = "bounce.example.com"


def _payload(task: HandlerTask) -> dict[str, Any]:
    try:
        data = json.loads(task.payload)
    except ValueError as exc:
        raise SkipRetry(f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SkipRetry("payload is not a JSON object")
    return data


def _work(low: float, high: float) -> None:
    time.sleep(random.uniform(low, high))


@handler("email:send")
def send_email(task: HandlerTask) -> None:
    data = _payload(task)
    _work(0.05, 0.4)
    if str(data.get("to", "")).endswith("@" + BOUNCE_DOMAIN):
        raise SkipRetry(f"550 5.1.1 <{data['to']}>: mailbox does not exist")
    if random.random() < 0.08:
        raise ConnectionError("421 4.7.0 smtp.example.com: try again later")


@handler("email:digest")
def send_digest(task: HandlerTask) -> None:
    """Runs the task the group aggregator built from several ``email:digest`` items."""
    _work(0.1, 0.3)
    items = [line for line in task.payload.splitlines() if line.strip()]
    task.write_result(json.dumps({"items": len(items)}).encode())


@handler("image:resize")
def resize_image(task: HandlerTask) -> None:
    data = _payload(task)
    _work(0.2, 1.2)
    if random.random() < 0.05:
        raise OSError("cannot identify image file (truncated upload?)")
    variants = [
        {"width": size, "url": f"https://cdn.example.com/img/{data.get('image_id')}/{size}.webp"}
        for size in data.get("sizes", [128, 512])
    ]
    task.write_result(json.dumps({"variants": variants}).encode())


@handler("report:generate")
def generate_report(task: HandlerTask) -> None:
    data = _payload(task)
    _work(2.0, 6.0)
    if random.random() < 0.1:
        raise TimeoutError("warehouse query exceeded 300 s")
    rows = random.randint(100, 50_000)
    task.write_result(json.dumps({"report": data.get("report"), "rows": rows}).encode())


@handler("webhook:deliver")
def deliver_webhook(task: HandlerTask) -> None:
    data = _payload(task)
    _work(0.02, 0.3)
    url = str(data.get("url", ""))
    if DOWN_HOST in url:
        raise ConnectionRefusedError(f"POST {url}: connection refused")
    if FLAKY_HOST in url and random.random() < 0.6:
        raise RuntimeError(f"POST {url}: 503 Service Unavailable")


def aggregate_digest(group: str, tasks: list[Task]) -> Task:
    """Group aggregator: one digest e-mail for every item queued under a recipient's group."""
    lines = [(t.payload or b"").decode("utf-8", "replace") for t in tasks]
    return Task("email:digest", ("\n".join(lines) + "\n").encode())
