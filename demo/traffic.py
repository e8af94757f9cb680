"""What the demo enqueues: a deterministic mix of realistic tasks, one round ("tick") at a time.

The plan is a pure function of the tick number and a random generator, so tests can check the mix
without Redis; :class:`TrafficGenerator` only sends a plan through a Client.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from demo.tasks import BOUNCE_DOMAIN, DOWN_HOST, FLAKY_HOST
from queuecore.errors import DuplicateTaskError, QueueCoreError

log = logging.getLogger(__name__)

TEMPLATES = ("welcome", "password-reset", "invoice", "weekly-summary", "shipping-update")
REPORTS = ("monthly-sales", "churn", "inventory", "ad-spend", "cohorts")
EVENTS = ("order.created", "order.paid", "invoice.finalized", "customer.updated")


@dataclass(frozen=True, kw_only=True)
class Planned:
    """One task to enqueue and the asynq options it goes with."""

    type: str
    payload: dict[str, Any]
    queue: str = "default"
    options: dict[str, Any] = field(default_factory=dict)

    def payload_bytes(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


def plan_tick(tick: int, rng: random.Random) -> list[Planned]:
    """The tasks of round ``tick``: steady traffic plus periodic bursts, delays, uniques, groups."""
    plan: list[Planned] = []
    for _ in range(rng.randint(1, 3)):
        user = rng.randint(1, 400)
        domain = BOUNCE_DOMAIN if rng.random() < 0.07 else "example.com"
        options: dict[str, Any] = {"max_retry": 3, "timeout": timedelta(seconds=30)}
        if rng.random() < 0.25:
            options["process_in"] = timedelta(seconds=rng.randint(30, 600))
        plan.append(
            Planned(
                type="email:send",
                payload={"to": f"user{user}@{domain}", "template": rng.choice(TEMPLATES)},
                queue="critical",
                options=options,
            )
        )
    for _ in range(rng.randint(1, 2)):
        plan.append(_image(rng, queue="default"))
    for _ in range(rng.randint(1, 2)):
        roll = rng.random()
        if roll < 0.15:
            host, retries = DOWN_HOST, 0
        elif roll < 0.5:
            host, retries = FLAKY_HOST, 4
        else:
            host, retries = "hooks.example.com", 5
        plan.append(
            Planned(
                type="webhook:deliver",
                payload={"url": f"https://{host}/events", "event": rng.choice(EVENTS)},
                queue="default",
                options={"max_retry": retries, "timeout": timedelta(seconds=10)},
            )
        )
    if tick % 3 == 0:
        recipient = rng.randint(1, 5)
        plan.append(
            Planned(
                type="email:digest",
                payload={"to": f"user{recipient}@example.com", "item": rng.choice(EVENTS)},
                queue="default",
                options={"group": f"digest:user{recipient}", "retention": timedelta(hours=1)},
            )
        )
    if tick % 4 == 0:
        account = rng.randint(1, 6)
        report = rng.choice(REPORTS)
        options = {
            "max_retry": 2,
            "timeout": timedelta(minutes=5),
            # The same report for the same account is refused while one is queued.
            "unique": timedelta(minutes=2),
            "retention": timedelta(hours=6),
        }
        if rng.random() < 0.3:
            options["process_in"] = timedelta(seconds=rng.randint(20, 300))
        plan.append(
            Planned(
                type="report:generate",
                payload={"report": report, "account": account},
                queue="low",
                options=options,
            )
        )
    if tick % 15 == 0:
        # A bulk import: more than the worker takes at once, so pending visibly fills and drains.
        plan.extend(_image(rng, queue="low") for _ in range(30))
    return plan


def _image(rng: random.Random, *, queue: str) -> Planned:
    return Planned(
        type="image:resize",
        payload={"image_id": rng.randint(10_000, 99_999), "sizes": [128, 512, 1024]},
        queue=queue,
        options={"max_retry": 2, "retention": timedelta(hours=1)},
    )


# Items a digest group may hold before the demo stops adding to it. A worker with a group
# aggregator flushes groups; without one they would grow for as long as the demo runs.
MAX_GROUP_SIZE = 4


class TrafficGenerator:
    """Sends the planned rounds through a queuecore Client and counts what happened.

    ``group_size(queue, group)`` (an Inspector's view) lets it skip items for full groups.
    """

    def __init__(
        self,
        client: Any,
        *,
        seed: int | None = None,
        group_size: Callable[[str, str], int] | None = None,
    ) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.tick = 0
        self.counts: Counter[str] = Counter()
        self.group_size = group_size

    def run_once(self) -> int:
        """Enqueue one round; returns how many tasks were accepted."""
        from queuecore import Task

        accepted = 0
        for item in plan_tick(self.tick, self.rng):
            group = item.options.get("group")
            if group and self.group_size and self.group_size(item.queue, group) >= MAX_GROUP_SIZE:
                self.counts["group full"] += 1
                continue
            try:
                self.client.enqueue(
                    Task(item.type, item.payload_bytes()), queue=item.queue, **item.options
                )
            except DuplicateTaskError:
                self.counts["duplicate"] += 1
            except QueueCoreError as exc:
                self.counts["error"] += 1
                log.warning("demo: could not enqueue %s: %s", item.type, exc)
            else:
                accepted += 1
                self.counts[item.type] += 1
        self.tick += 1
        return accepted
