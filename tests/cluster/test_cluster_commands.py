"""``runworker`` and ``runscheduler`` pointed at the cluster: by ``--redis-url``, by the
``QUEUECORE["REDIS"]`` settings dict, and the scheduler's registries and history on a cluster."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.handlers import ServeMux
from queuecore.inspector import Inspector
from queuecore.scheduler import Scheduler, SchedulerEntrySpec
from tests.support.cluster import ClusterSetup

pytestmark = pytest.mark.cluster

START = datetime(2026, 11, 25, 15, 40, 5, tzinfo=UTC).timestamp()


class AdvancingStop:
    """A stop signal whose waits move a FrozenClock instead of sleeping; set at ``stop_at``."""

    def __init__(self, clock: FrozenClock, stop_at: float) -> None:
        self.clock = clock
        self.stop_at = stop_at

    def is_set(self) -> bool:
        return self.clock.now() >= self.stop_at

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.advance(timeout or 0.0)
        return self.is_set()


def enqueue_everywhere(url: str, queues: list[str], count: int) -> None:
    with Client.from_url(url) as client:
        client.enqueue_many(
            [
                Task("cmd", f"{q}-{i}".encode()).with_options(queue=q)
                for q in queues
                for i in range(count)
            ]
        )


def test_runworker_redis_url_option_processes_a_cluster(
    cluster_url: str, spread_queues: list[str]
) -> None:
    enqueue_everywhere(cluster_url, spread_queues, 4)
    seen: list[bytes] = []
    mux = ServeMux()
    mux.register("cmd", lambda task: seen.append(task.payload))
    call_command(
        "runworker",
        "--redis-url",
        cluster_url,
        "--queues",
        ",".join(f"{q}=1" for q in spread_queues),
        "--burst",
        "--log-level",
        "warning",
        mux=mux,
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert len(seen) == 4 * len(spread_queues)


def test_runworker_reads_the_cluster_from_the_redis_settings_dict(
    settings: Any, redis_cluster: ClusterSetup, cluster_url: str, spread_queues: list[str]
) -> None:
    enqueue_everywhere(cluster_url, spread_queues, 2)
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # overridden by REDIS
        "REDIS": {"CLUSTER_NODES": [f"127.0.0.1:{p}" for p in redis_cluster.ports[:1]]},
        "QUEUES": dict.fromkeys(spread_queues, 1),
    }
    seen: list[bytes] = []
    mux = ServeMux()
    mux.register("cmd", lambda task: seen.append(task.payload))
    out = StringIO()
    call_command("runworker", "--burst", "--log-level", "warning", mux=mux, stdout=out)
    assert len(seen) == 2 * len(spread_queues)
    assert "redis-cluster://" in out.getvalue()


def test_runscheduler_enqueues_into_a_cluster_and_cleans_up(
    settings: Any, cluster_url: str, spread_queues: list[str]
) -> None:
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "SCHEDULE": [
            {"cron": "@every 10s", "task": "tick", "options": {"queue": q}} for q in spread_queues
        ],
    }
    clock = FrozenClock(START)
    call_command(
        "runscheduler",
        "--redis-url",
        cluster_url,
        "--log-level",
        "warning",
        clock=clock,
        stop_event=AdvancingStop(clock, START + 21),
        stdout=StringIO(),
    )
    with Inspector.from_url(cluster_url) as inspector:
        for qname in spread_queues:
            assert inspector.get_queue_info(qname).pending == 2
        assert inspector.scheduler_entries() == []


def test_scheduler_entries_and_history_read_back_from_a_cluster(
    cluster_url: str, spread_queues: list[str]
) -> None:
    clock = FrozenClock(START)
    entries = [
        SchedulerEntrySpec.from_setting(
            {"cron": "@every 5s", "task": "tick", "options": {"queue": q}}
        )
        for q in spread_queues
    ]
    scheduler = Scheduler.from_url(cluster_url, entries=entries, clock=clock)
    try:
        scheduler.start()
        for _ in range(3):
            clock.advance(5)
            scheduler.run_once()
        scheduler.heartbeat.run_once()
        with Inspector.from_url(cluster_url, clock=clock) as inspector:
            listed = inspector.scheduler_entries()
            assert len(listed) == len(spread_queues)
            for entry in listed:
                assert len(inspector.scheduler_enqueue_events(entry.id)) >= 2
    finally:
        scheduler.close()
