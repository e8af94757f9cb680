"""The node holding ``asynq:queues`` is down: enqueues to queues on other nodes still succeed."""

from __future__ import annotations

import logging

import pytest

from queuecore.client import Client, Task
from queuecore.errors import RedisUnavailableError
from queuecore.inspector import Inspector
from tests.support.cluster import ClusterSetup, key_slot

pytestmark = pytest.mark.cluster


def test_an_enqueue_whose_task_was_written_succeeds_while_the_registry_node_is_down(
    redis_cluster: ClusterSetup, cluster_url: str, spread_queues: list[str], caplog
) -> None:
    registry_port = redis_cluster.port_of_slot(key_slot("asynq:queues"))
    elsewhere = next(q for q in spread_queues if redis_cluster.port_of_queue(q) != registry_port)
    beside = next(q for q in spread_queues if redis_cluster.port_of_queue(q) == registry_port)
    with Client.from_url(cluster_url) as client:
        redis_cluster.stop_node(registry_port)
        try:
            with caplog.at_level(logging.WARNING, logger="queuecore.rdb.enqueue"):
                written = client.enqueue(Task("t", b"during"), queue=elsewhere)
            assert "registering queue(s)" in caplog.text
            # A queue on the down node itself: its task was not written, so that is an error.
            with pytest.raises(RedisUnavailableError):
                client.enqueue(Task("t", b"during"), queue=beside)
        finally:
            redis_cluster.start_node(registry_port)
        client.enqueue(Task("t", b"after"), queue=elsewhere)
    with Inspector.from_url(cluster_url) as inspector:
        assert elsewhere in inspector.queues()
        assert inspector.get_queue_info(elsewhere).pending == 2
        assert inspector.get_task_info(elsewhere, written.id).payload == b"during"
