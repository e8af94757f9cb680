"""servers() and scheduler_entries(): records written per spec §2/§3.3, pruned on read."""

from __future__ import annotations

import redis

from queuecore.inspector import Inspector
from queuecore.messages import SchedulerEnqueueEvent, ServerInfo, WorkerInfo
from tests.queuecore.inspector.conftest import NOW


def _write_server(client: redis.Redis, sid: str, expires: int, tasks: list[str]) -> None:
    info = ServerInfo(host="h", pid=1, server_id=sid, concurrency=2, status="active")
    info.queues["default"] = 1
    info.start_time.seconds = NOW - 60
    client.zadd("asynq:servers", {f"asynq:servers:{{h:1:{sid}}}": expires})
    client.set(f"asynq:servers:{{h:1:{sid}}}", info.SerializeToString())
    client.zadd("asynq:workers", {f"asynq:workers:{{h:1:{sid}}}": expires})
    for task_id in tasks:
        worker = WorkerInfo(host="h", pid=1, server_id=sid, task_id=task_id, queue="default")
        client.hset(f"asynq:workers:{{h:1:{sid}}}", task_id, worker.SerializeToString())


def test_servers_joins_workers_and_prunes_expired_servers(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    _write_server(redis_client, "live", NOW + 10, ["t2", "t1"])
    _write_server(redis_client, "dead", NOW - 5, ["t3"])
    redis_client.hset("asynq:workers:{h:1:live}", "junk", b"\xff\xff")
    (server,) = inspector.servers()
    assert (server.id, server.status, dict(server.queues)) == ("live", "active", {"default": 1})
    assert [w.task_id for w in server.active_workers] == ["t1", "t2"]
    assert redis_client.zrange("asynq:servers", 0, -1) == [b"asynq:servers:{h:1:live}"]


def test_a_server_without_tasks_in_flight_has_no_workers(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    _write_server(redis_client, "idle", NOW + 10, [])
    (server,) = inspector.servers()
    assert server.active_workers == ()


def test_servers_skips_a_foreign_key_of_another_type_in_the_registry(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    _write_server(redis_client, "live", NOW + 10, [])
    redis_client.zadd("asynq:servers", {"asynq:servers:{foreign}": NOW + 10})
    redis_client.hset("asynq:servers:{foreign}", "not", "a server")
    assert [server.id for server in inspector.servers()] == ["live"]


def test_scheduler_enqueue_events_are_newest_first_and_paged(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for i in range(5):
        event = SchedulerEnqueueEvent(task_id=f"t{i}")
        event.enqueue_time.seconds = NOW + i
        redis_client.zadd("asynq:scheduler_history:e1", {event.SerializeToString(): NOW + i})
    events = inspector.scheduler_enqueue_events("e1", page=1, page_size=2)
    assert [e.task_id for e in events] == ["t4", "t3"]
    assert [e.task_id for e in inspector.scheduler_enqueue_events("e1", page=3, page_size=2)] == [
        "t0"
    ]


def test_redis_info_parses_info(inspector: Inspector) -> None:
    info = inspector.redis_info()
    assert info.version
    assert "redis_version" in info.raw
    assert info.is_cluster is False
