"""The alert loop on a Redis Cluster: its state, delivery log and last run, each one key."""

from __future__ import annotations

import json

import pytest

from queuecore.alerts import AlertService, Channel, http_sender
from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.health import HealthThresholds
from queuecore.inspector import Inspector
from queuecore.rdb.alerts import AlertStore
from queuecore.rdb.connection import RedisSettings
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.cluster


def test_two_alert_loops_on_a_cluster_send_one_opened_and_one_resolved_message(
    cluster_url: str, http_receiver: HttpReceiver
):
    clock = FrozenClock(1_790_000_000.0)
    channel = Channel(name="hook", type="webhook", url=http_receiver.url(), timeout=5)
    services = [
        AlertService.from_url(
            cluster_url,
            [channel],
            {"hook": http_sender(channel, now=clock.now)},
            thresholds=HealthThresholds(),
            clock=clock,
        )
        for _ in range(2)
    ]
    try:
        with Client.from_url(cluster_url) as client:
            info = client.enqueue(Task("nobody:consumes"), queue="orphans")
        for service in services:
            service.run_once()
        with Inspector.from_url(cluster_url) as inspector:
            inspector.delete_task("orphans", info.id)
        clock.advance(30)
        for service in services:
            service.run_once()
    finally:
        for service in services:
            service.close()
    events = [json.loads(body)["event"] for body in http_receiver.bodies()]
    assert events == ["opened", "resolved"]
    store = AlertStore(RedisSettings.from_url(cluster_url).connect())
    try:
        assert len(store.deliveries()) == 2
        assert store.last_run() is not None
    finally:
        store.client.close()
