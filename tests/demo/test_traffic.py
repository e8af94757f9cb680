"""The demo's traffic: a mix that fills every state, sent through the real Client."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from demo.traffic import MAX_GROUP_SIZE, TrafficGenerator, plan_tick
from queuecore.client import Client
from queuecore.inspector import Inspector


def planned(ticks: int) -> list:
    rng = random.Random(7)
    return [item for tick in range(ticks) for item in plan_tick(tick, rng)]


def test_a_minute_of_traffic_has_every_type_and_queue() -> None:
    items = planned(60)
    assert {i.type for i in items} == {
        "email:send",
        "email:digest",
        "image:resize",
        "report:generate",
        "webhook:deliver",
    }
    assert {i.queue for i in items} == {"critical", "default", "low"}


def test_a_minute_of_traffic_has_delays_uniques_groups_retention_and_doomed_tasks() -> None:
    items = planned(60)
    options = Counter(key for i in items for key in i.options)
    assert options["process_in"] > 0
    assert options["unique"] > 0
    assert options["group"] > 0
    assert options["retention"] > 0
    # Tasks that fail with no retry left go straight to archived.
    assert any(i.options.get("max_retry") == 0 for i in items)
    assert any(i.payload.get("to", "").endswith("@bounce.example.com") for i in items)


def test_bursts_come_every_fifteen_rounds() -> None:
    rng = random.Random(1)
    sizes = [len(plan_tick(tick, rng)) for tick in range(30)]
    assert sizes[0] > 30
    assert sizes[15] > 30
    assert max(sizes[1:15]) < 15


def test_the_generator_enqueues_through_the_client_and_caps_groups(redis_url: str) -> None:
    inspector = Inspector.from_url(redis_url)

    def group_size(queue: str, group: str) -> int:
        return next((g.size for g in inspector.groups(queue) if g.group == group), 0)

    generator = TrafficGenerator(Client.from_url(redis_url), seed=3, group_size=group_size)
    for _ in range(90):
        generator.run_once()
    infos = {q: inspector.get_queue_info(q) for q in inspector.queues()}
    assert set(infos) == {"critical", "default", "low"}
    assert sum(i.pending for i in infos.values()) > 0
    assert sum(i.scheduled for i in infos.values()) > 0
    assert infos["default"].aggregating > 0
    assert all(g.size <= MAX_GROUP_SIZE for g in inspector.groups("default"))
    assert generator.counts["duplicate"] + generator.counts["report:generate"] > 0
    assert generator.counts["error"] == 0


@pytest.mark.django_db
def test_the_demo_command_runs_a_given_number_of_rounds(
    queuecore_settings: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import call_command

    from demo.management.commands.demo import Command

    # The demo app is not installed in the test settings (DEMO is off): run its command directly.
    call_command(Command(), "--rounds", "3", "--interval", "0", "--seed", "1")
    assert "stopped after 3 rounds" in capsys.readouterr().out
    assert Inspector.from_url(queuecore_settings).queues()


def test_demo_settings_turn_on_the_digest_group_aggregator():
    env = {**os.environ, "DEMO": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = (
        "import django; django.setup();"
        "from queuecore.contrib.django.conf import group_options;"
        "f = group_options()['group_aggregator']; print(f.__module__, f.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["demo.tasks", "aggregate_digest"]
