"""Fixtures that start real Redis Cluster and Sentinel deployments (tests/support/cluster.py).

The cluster is started once per session and flushed around each test; each Sentinel test module
starts its own deployment because a failover changes it for good. After every cluster test, no
node may have answered a command with CROSSSLOT (INFO errorstats).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from queuecore.client import Client
from queuecore.inspector import Inspector
from tests.support.cluster import ClusterSetup, start_cluster
from tests.support.redis_server import redis_missing_is_fatal, redis_server_binary


def require_redis_binaries() -> None:
    if redis_server_binary() is None or shutil.which("redis-cli") is None:
        message = "redis-server and redis-cli are needed for cluster tests"
        if redis_missing_is_fatal():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[ClusterSetup]:
    require_redis_binaries()
    cluster = start_cluster(masters=3)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def spread_queues(redis_cluster: ClusterSetup) -> list[str]:
    """Six queue names, two on each of the three masters."""
    return redis_cluster.queues_on_every_master(per_master=2)


def crossslot_errors(cluster: ClusterSetup) -> dict[int, str]:
    """Port -> the CROSSSLOT error counter, for every node that ever answered CROSSSLOT."""
    found = {}
    for port in cluster.ports:
        client = cluster.node_client(port)
        try:
            stats = client.info("errorstats")
        finally:
            client.close()
        for name, value in stats.items():
            if "CROSSSLOT" in name.upper():
                found[port] = str(value)
    return found


@pytest.fixture
def cluster_url(redis_cluster: ClusterSetup) -> Iterator[str]:
    """The URL of the flushed cluster; fails the test if any node answered CROSSSLOT."""
    redis_cluster.wait_healthy()
    redis_cluster.flush()
    for port in redis_cluster.ports:
        client = redis_cluster.node_client(port)
        try:
            client.config_resetstat()
        finally:
            client.close()
    yield redis_cluster.url
    assert crossslot_errors(redis_cluster) == {}


@pytest.fixture
def cluster_client(cluster_url: str) -> Iterator[Client]:
    found = Client.from_url(cluster_url)
    yield found
    found.close()


@pytest.fixture
def cluster_inspector(cluster_url: str) -> Iterator[Inspector]:
    found = Inspector.from_url(cluster_url)
    yield found
    found.close()
