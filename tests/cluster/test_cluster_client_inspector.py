"""The Client, every Inspector read and action, and the dashboard, on a real 3-master cluster.

Queues are spread so that each master serves two of them; the ``cluster_url`` fixture fails any
test after which a node reports a CROSSSLOT error.
"""

from __future__ import annotations

import pytest

from queuecore.client import Client, Task
from queuecore.errors import TaskNotFoundError
from queuecore.inspector import Inspector
from queuecore.rdb.cluster import cluster_nodes, queue_locations
from queuecore.taskinfo import TaskState
from tests.support.cluster import ClusterSetup, key_slot

pytestmark = pytest.mark.cluster


def node_keys(cluster: ClusterSetup, port: int) -> set[str]:
    node = cluster.node_client(port)
    try:
        return {k.decode() for k in node.scan_iter(match="asynq:*", count=1000)}
    finally:
        node.close()


def test_spread_queues_land_on_every_master(
    redis_cluster: ClusterSetup, spread_queues: list[str]
) -> None:
    ports = {redis_cluster.port_of_queue(q) for q in spread_queues}
    assert ports == set(redis_cluster.ports)


def test_client_writes_each_queue_onto_the_master_serving_its_slot(
    redis_cluster: ClusterSetup, spread_queues: list[str], cluster_client: Client
) -> None:
    for qname in spread_queues:
        cluster_client.enqueue(Task("email:send", b"now"), queue=qname)
        cluster_client.enqueue(Task("email:send", b"later"), queue=qname, process_in=3600)
        cluster_client.enqueue(Task("email:send", b"once"), queue=qname, unique=60)
        cluster_client.enqueue(Task("email:batch", b"g"), queue=qname, group="daily")
    for qname in spread_queues:
        port = redis_cluster.port_of_queue(qname)
        mine = {k for k in node_keys(redis_cluster, port) if k.startswith(f"asynq:{{{qname}}}:")}
        assert {f"asynq:{{{qname}}}:pending", f"asynq:{{{qname}}}:scheduled"} <= mine
        assert any(":unique:" in k for k in mine)
        assert f"asynq:{{{qname}}}:g:daily" in mine


def test_enqueue_many_sends_one_batch_spanning_every_master(
    spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    tasks = [
        Task("report", f"{q}-{i}".encode()).with_options(queue=q)
        for q in spread_queues
        for i in range(5)
    ]
    infos = cluster_client.enqueue_many(tasks)
    assert len(infos) == len(tasks)
    assert sorted(cluster_inspector.queues()) == sorted(spread_queues)
    for qname in spread_queues:
        assert cluster_inspector.get_queue_info(qname).pending == 5


def test_enqueue_survives_every_node_forgetting_its_scripts(
    redis_cluster: ClusterSetup, spread_queues: list[str], cluster_client: Client
) -> None:
    cluster_client.enqueue(Task("warm", b""), queue=spread_queues[0])
    for port in redis_cluster.ports:
        node = redis_cluster.node_client(port)
        node.script_flush()
        node.close()
    infos = cluster_client.enqueue_many(
        [Task("cold", q.encode()).with_options(queue=q) for q in spread_queues]
    )
    assert len(infos) == len(spread_queues)


def test_every_inspector_read_works_across_the_masters(
    spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    for qname in spread_queues:
        cluster_client.enqueue(Task("a", b"pending payload"), queue=qname)
        cluster_client.enqueue(Task("b", b"scheduled payload"), queue=qname, process_in=600)
        cluster_client.enqueue(Task("c", b"grouped"), queue=qname, group="g1")
    assert sorted(cluster_inspector.queues()) == sorted(spread_queues)
    for cheap in (True, False):
        rows = cluster_inspector.overview(cheap=cheap)
        assert [r.queue for r in rows] == sorted(spread_queues)
        assert all((r.pending, r.scheduled, r.aggregating) == (1, 1, 1) for r in rows)
    for qname in spread_queues:
        info = cluster_inspector.get_queue_info(qname)
        assert info.size == 3
        assert info.memory_usage is not None
        assert len(cluster_inspector.history(qname, days=3)) == 3
        assert [(g.group, g.size) for g in cluster_inspector.groups(qname)] == [("g1", 1)]
        pending = cluster_inspector.list_tasks(qname, TaskState.PENDING)
        assert [t.type for t in pending] == ["a"]
        assert cluster_inspector.get_task_info(qname, pending[0].id).payload == b"pending payload"
        assert len(cluster_inspector.list_tasks(qname, TaskState.SCHEDULED)) == 1
        assert len(cluster_inspector.list_tasks(qname, TaskState.AGGREGATING, group="g1")) == 1
        for state in (TaskState.ACTIVE, TaskState.RETRY, TaskState.ARCHIVED, TaskState.COMPLETED):
            assert len(cluster_inspector.list_tasks(qname, state)) == 0
        found = cluster_inspector.search(qname, TaskState.SCHEDULED, text="scheduled")
        assert [t.type for t in found.tasks] == ["b"]
    assert cluster_inspector.servers() == []
    assert cluster_inspector.scheduler_entries() == []


def test_every_inspector_action_works_across_the_masters(
    spread_queues: list[str], cluster_client: Client, cluster_inspector: Inspector
) -> None:
    for qname in spread_queues:
        ids = [
            cluster_client.enqueue(Task("t", f"{i}".encode()), queue=qname, process_in=900).id
            for i in range(6)
        ]
        cluster_inspector.run_task(qname, ids[0])
        cluster_inspector.archive_task(qname, ids[1])
        cluster_inspector.delete_task(qname, ids[2])
        with pytest.raises(TaskNotFoundError):
            cluster_inspector.get_task_info(qname, ids[2])
        updated = cluster_inspector.update_task_payload(qname, ids[3], b"new payload")
        assert updated.payload == b"new payload"
        assert cluster_inspector.run_tasks(qname, [ids[3]]).succeeded == [ids[3]]
        assert cluster_inspector.archive_tasks(qname, [ids[4]]).succeeded == [ids[4]]
        assert cluster_inspector.delete_tasks(qname, [ids[5]]).succeeded == [ids[5]]
        info = cluster_inspector.get_queue_info(qname)
        assert (info.pending, info.archived, info.scheduled) == (2, 2, 0)
        assert cluster_inspector.run_all(qname, TaskState.ARCHIVED) == 2
        assert cluster_inspector.archive_all(qname, TaskState.PENDING) == 4
        assert cluster_inspector.delete_all(qname, TaskState.ARCHIVED) == 4
        cluster_inspector.pause_queue(qname)
        assert cluster_inspector.get_queue_info(qname).paused
        cluster_inspector.unpause_queue(qname)
        assert cluster_inspector.cancel_all_active(qname) == 0
        cluster_inspector.cancel_processing("no-such-task")
        cluster_inspector.delete_queue(qname)
    assert cluster_inspector.queues() == []
    for qname in spread_queues:
        cluster_client.enqueue(Task("t", b"left"), queue=qname, group="g")
        cluster_client.enqueue(Task("t", b"left"), queue=qname)
        assert cluster_inspector.run_all(qname, TaskState.AGGREGATING, group="g") == 1
        cluster_inspector.delete_queue(qname, force=True)
    assert cluster_inspector.queues() == []


def test_redis_info_shows_each_queue_slot_and_node_and_the_nodes_state(
    redis_cluster: ClusterSetup,
    spread_queues: list[str],
    cluster_client: Client,
    cluster_inspector: Inspector,
) -> None:
    for qname in spread_queues:
        cluster_client.enqueue(Task("t", b""), queue=qname)
    info = cluster_inspector.redis_info()
    assert info.is_cluster
    assert info.info["redis_mode"] == "cluster"
    by_queue = {loc.queue: loc for loc in info.queue_locations}
    assert sorted(by_queue) == sorted(spread_queues)
    for qname in spread_queues:
        assert by_queue[qname].slot == key_slot(f"asynq:{{{qname}}}:pending")
        assert by_queue[qname].nodes[0] == f"127.0.0.1:{redis_cluster.port_of_queue(qname)}"
    nodes = info.cluster_nodes
    assert sorted(n.address for n in nodes) == sorted(f"127.0.0.1:{p}" for p in redis_cluster.ports)
    assert all(n.role == "master" and n.connected and not n.failing for n in nodes)
    assert sum(n.slot_count for n in nodes) == 16384


def test_cluster_shape_helpers_read_slots_and_nodes(
    redis_cluster: ClusterSetup, spread_queues: list[str], cluster_inspector: Inspector
) -> None:
    cluster = cluster_inspector.store.client
    locations = queue_locations(cluster, spread_queues)  # type: ignore[arg-type]
    assert [loc.node for loc in locations] == [
        f"127.0.0.1:{redis_cluster.port_of_queue(q)}" for q in spread_queues
    ]
    nodes = cluster_nodes(cluster)  # type: ignore[arg-type]
    assert len(nodes) == 3
    assert {n.address for n in nodes} == {f"127.0.0.1:{p}" for p in redis_cluster.ports}


def test_transactional_pipeline_stays_one_slot(
    cluster_inspector: Inspector, spread_queues: list[str]
) -> None:
    cluster = cluster_inspector.store.client
    pipe = cluster.pipeline(transaction=True)
    pipe.set(f"asynq:{{{spread_queues[0]}}}:probe", "1")
    pipe.get(f"asynq:{{{spread_queues[0]}}}:probe")
    assert pipe.execute()[1] == b"1"


def test_node_pipeline_returns_replies_in_the_order_given(
    spread_queues: list[str], cluster_inspector: Inspector
) -> None:
    cluster = cluster_inspector.store.client
    pipe = cluster.pipeline()
    for qname in spread_queues:
        pipe.set(f"asynq:{{{qname}}}:probe", qname)
    for qname in reversed(spread_queues):
        pipe.get(f"asynq:{{{qname}}}:probe")
    replies = pipe.execute()
    assert replies[len(spread_queues) :] == [q.encode() for q in reversed(spread_queues)]


def test_clients_follow_a_queue_whose_slot_moved_to_another_master(
    redis_cluster: ClusterSetup,
    spread_queues: list[str],
    cluster_client: Client,
    cluster_inspector: Inspector,
) -> None:
    qname = spread_queues[0]
    slot = key_slot(f"asynq:{{{qname}}}:pending")
    home = redis_cluster.port_of_slot(slot)
    elsewhere = next(p for p in redis_cluster.ports if p != home)
    cluster_client.enqueue(Task("t", b"before"), queue=qname)
    assert cluster_inspector.get_queue_info(qname).pending == 1
    try:
        # Both clients still map the slot to its old node: they get MOVED and re-route.
        redis_cluster.move_slot(slot, elsewhere)
        cluster_client.enqueue_many(
            [Task("t", b"after").with_options(queue=q) for q in spread_queues]
        )
        assert cluster_inspector.get_queue_info(qname).pending == 2
        assert [
            loc.nodes[0]
            for loc in cluster_inspector.redis_info().queue_locations
            if loc.queue == qname
        ] == [f"127.0.0.1:{elsewhere}"]
        assert cluster_inspector.overview()[0].queue in spread_queues
    finally:
        redis_cluster.move_slot(slot, home)
    assert cluster_inspector.get_queue_info(qname).pending == 2
