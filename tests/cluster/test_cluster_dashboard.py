"""The dashboard's pages, served from a real 3-master cluster."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client as BrowserClient

from queuecore.client import Client, Task
from tests.support.cluster import ClusterSetup

pytestmark = [pytest.mark.cluster, pytest.mark.django_db]


@pytest.fixture
def viewer(client: BrowserClient, settings: object, cluster_url: str) -> BrowserClient:
    current = dict(getattr(settings, "QUEUECORE", {}))
    current["REDIS_URL"] = cluster_url
    settings.QUEUECORE = current  # type: ignore[attr-defined]
    user = User.objects.create_user("cluster-viewer", password="pw-12345-long")
    user.groups.add(Group.objects.get(name="viewer"))
    client.force_login(user)
    return client


def test_overview_page_lists_queues_of_every_master(
    viewer: BrowserClient, cluster_url: str, spread_queues: list[str]
) -> None:
    with Client.from_url(cluster_url) as queue_client:
        for qname in spread_queues:
            queue_client.enqueue(Task("t", b""), queue=qname)
    response = viewer.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for qname in spread_queues:
        assert qname in page


def test_queue_and_redis_pages_render_on_a_cluster(
    viewer: BrowserClient, redis_cluster: ClusterSetup, cluster_url: str, spread_queues: list[str]
) -> None:
    with Client.from_url(cluster_url) as queue_client:
        task = queue_client.enqueue(Task("t", b"x"), queue=spread_queues[-1], process_in=60)
    assert viewer.get(f"/queues/{spread_queues[-1]}/").status_code == 200
    assert viewer.get(f"/queues/{spread_queues[-1]}/tasks/{task.id}/").status_code == 200
    response = viewer.get("/redis/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Redis cluster" in page
    assert f"<td>{spread_queues[-1]}</td>" in page
    for port in redis_cluster.ports:
        assert f"127.0.0.1:{port}" in page
    assert page.count('<span class="badge badge-ok">ok</span>') == len(redis_cluster.ports)
