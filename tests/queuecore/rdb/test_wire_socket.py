"""rdb.wire's direct socket exchange: the same replies, errors and recovery as redis-py's own
read path, on the connection redis-py set up (so redis-py can keep using it)."""

from __future__ import annotations

import time

import pytest
import redis

from queuecore import keys
from queuecore.client import Client, Task
from queuecore.errors import MalformedDataError
from queuecore.rdb import wire


def test_a_pipeline_of_replies_comes_back_in_order_with_errors_in_place(redis_url: str) -> None:
    hot = wire.HotConnection(redis.Redis.from_url(redis_url))

    replies = hot.send(
        [("SET", "k", "1"), ("INCR", "k"), ("HGET", "k", "f"), ("EVALSHA", "0" * 40, 0)]
    )

    assert replies is not None
    assert replies[:2] == [b"OK", 2]
    assert isinstance(replies[2], redis.ResponseError)
    assert "WRONGTYPE" in str(replies[2])
    assert isinstance(replies[3], redis.exceptions.NoScriptError)


def test_a_reply_larger_than_the_read_buffer_is_read_whole(redis_url: str) -> None:
    hot = wire.HotConnection(redis.Redis.from_url(redis_url))
    big = b"\xff" * (3 * 2**20)

    replies = hot.send([("SET", "big", big), ("GET", "big"), ("STRLEN", "big")])

    assert replies == [b"OK", big, len(big)]


def test_redis_py_can_use_the_connection_after_a_direct_exchange(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    hot = wire.HotConnection(client)
    assert hot.send([("SET", "k", "v")]) == [b"OK"]

    conn = hot._conn
    conn.send_command("GET", "k")
    assert conn.read_response() == b"v"
    assert hot.send([("PING",)]) == [b"PONG"]


def test_a_connection_killed_by_the_server_is_reported_as_none_and_made_afresh(
    redis_url: str, redis_client: redis.Redis
) -> None:
    hot = wire.HotConnection(redis.Redis.from_url(redis_url))
    assert hot.send([("CLIENT", "SETNAME", "hot-under-test")]) == [b"OK"]

    _kill(redis_client, "hot-under-test")

    assert hot.send([("PING",)]) is None
    assert hot.send([("PING",)]) == [b"PONG"]


def test_a_reply_slower_than_the_socket_timeout_is_a_lost_link_not_a_hang(
    redis_url: str, redis_client: redis.Redis
) -> None:
    hot = wire.HotConnection(redis.Redis.from_url(redis_url, socket_timeout=0.2))
    assert hot.send([("PING",)]) == [b"PONG"]

    started = time.monotonic()
    assert hot.send([("BLPOP", "nothing-arrives", 2)]) is None

    assert time.monotonic() - started < 1.5
    assert hot.send([("PING",)]) == [b"PONG"]  # a fresh connection: no stale reply read


def test_a_due_health_check_goes_through_redis_py_which_pings_first(
    redis_url: str, redis_client: redis.Redis
) -> None:
    hot = wire.HotConnection(redis.Redis.from_url(redis_url, health_check_interval=30))
    assert hot.send([("PING",)]) == [b"PONG"]
    conn = hot._conn
    conn.next_health_check = time.monotonic() - 1
    pings_before = _calls(redis_client, "ping")

    assert hot.send([("SET", "k", "v")]) == [b"OK"]

    assert _calls(redis_client, "ping") == pings_before + 1
    assert conn.next_health_check > time.monotonic() + 20


def test_an_enqueue_after_the_server_dropped_the_client_is_written_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = Client.from_url(redis_url)
    client.enqueue(Task("warm:up"))
    assert client._store._hot is not None
    client._store._hot.send([("CLIENT", "SETNAME", "enqueuer-under-test")])
    _kill(redis_client, "enqueuer-under-test")

    info = client.enqueue(Task("after:kill", b"p"))

    assert redis_client.lrange(keys.pending_key("default"), 0, -1).count(info.id.encode()) == 1
    assert redis_client.hget(keys.task_key("default", info.id), "state") == b"pending"
    client.close()


def test_a_wrong_type_under_the_pending_key_is_a_clear_error_on_the_direct_path(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = Client.from_url(redis_url)
    redis_client.set(keys.pending_key("default"), "not a list")

    with pytest.raises(MalformedDataError, match="WRONGTYPE"):
        client.enqueue(Task("email:send", b"x"))
    client.close()


def _calls(redis_client: redis.Redis, command: str) -> int:
    stats = redis_client.info("commandstats")
    return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))


def _kill(redis_client: redis.Redis, name: str) -> None:
    ids = [c["id"] for c in redis_client.client_list() if c["name"] == name]
    assert ids, f"no client named {name}"
    for client_id in ids:
        redis_client.client_kill_filter(_id=client_id)
