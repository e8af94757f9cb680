"""The exact Redis writes of every enqueue path (spec §4.1 E1-E4), asserted on raw keys."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import redis

from queuecore import Client, Task
from queuecore.clock import FrozenClock
from queuecore.errors import DuplicateTaskError, TaskIdConflictError
from queuecore.messages import decode_task_message
from tests.support.factories import make_message, seed_task
from tests.support.snapshots import snapshot

NOW = 1795621221.5  # 2026-11-25T15:40:21.5Z
NOW_S = 1795621221
NOW_NS = 1795621221500000000


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def client(redis_url, clock):
    with Client(redis_url, clock=clock) as c:
        yield c


def fields(r: redis.Redis, key: str) -> dict[bytes, bytes]:
    return r.hgetall(key)


# ----------------------------------------------------------------------------- E1 enqueue


def test_enqueue_writes_the_hash_pushes_the_id_left_and_registers_the_queue(client, redis_client):
    info = client.enqueue(Task("email:send", b"{}"))
    key = f"asynq:{{default}}:t:{info.id}"
    assert redis_client.type(key) == b"hash"
    h = fields(redis_client, key)
    assert set(h) == {b"msg", b"state", b"pending_since"}
    assert h[b"state"] == b"pending"
    assert h[b"pending_since"] == str(NOW_NS).encode()
    assert decode_task_message(h[b"msg"]).id == info.id
    assert redis_client.type("asynq:{default}:pending") == b"list"
    assert redis_client.lrange("asynq:{default}:pending", 0, -1) == [info.id.encode()]
    assert redis_client.smembers("asynq:queues") == {b"default"}
    assert redis_client.ttl(key) == -1


def test_a_later_enqueue_goes_to_the_left_end_so_the_oldest_is_dequeued_first(client, redis_client):
    first = client.enqueue(Task("x"))
    second = client.enqueue(Task("x"))
    assert redis_client.lrange("asynq:{default}:pending", 0, -1) == [
        second.id.encode(),
        first.id.encode(),
    ]


def test_enqueue_to_a_named_queue_uses_its_hash_tag(client, redis_client):
    info = client.enqueue(Task("x"), queue="critical")
    assert redis_client.exists(f"asynq:{{critical}}:t:{info.id}") == 1
    assert redis_client.llen("asynq:{critical}:pending") == 1
    assert redis_client.smembers("asynq:queues") == {b"critical"}


def test_every_enqueue_re_registers_its_queue_so_a_deleted_queue_reappears(client, redis_client):
    # Go caches registration per Client, so after DeleteQueue its tasks become invisible
    # (spec §4.4 I9). Ours sends the SADD every time, in the same round trip.
    client.enqueue(Task("x"), queue="reports")
    redis_client.srem("asynq:queues", "reports")
    client.enqueue(Task("x"), queue="reports")
    assert redis_client.smembers("asynq:queues") == {b"reports"}


# ---------------------------------------------------------------------- E2 enqueue unique


def test_enqueue_unique_takes_the_lock_and_records_it_in_the_hash(client, redis_client):
    info = client.enqueue(Task("report:daily", b'{"day": 1}'), unique=timedelta(seconds=60))
    lock = "asynq:{default}:unique:report:daily:" + hashlib.md5(b'{"day": 1}').hexdigest()
    assert redis_client.type(lock) == b"string"
    assert redis_client.get(lock) == info.id.encode()
    assert redis_client.ttl(lock) == 60
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state", b"pending_since", b"unique_key"}
    assert h[b"unique_key"] == lock.encode()
    assert decode_task_message(h[b"msg"]).unique_key == lock


def test_a_second_unique_enqueue_is_a_duplicate_and_writes_nothing(client, redis_client):
    first = client.enqueue(Task("report:daily", b"1"), unique=60)
    before = snapshot(redis_client)
    with pytest.raises(DuplicateTaskError) as caught:
        client.enqueue(Task("report:daily", b"1"), unique=3600)
    assert str(caught.value) == "task already exists"
    assert caught.value.unique_key.startswith("asynq:{default}:unique:report:daily:")
    assert snapshot(redis_client) == before
    assert redis_client.llen("asynq:{default}:pending") == 1
    assert redis_client.lindex("asynq:{default}:pending", 0) == first.id.encode()


def test_the_same_payload_in_another_queue_is_not_a_duplicate(client):
    client.enqueue(Task("report:daily", b"1"), unique=60)
    client.enqueue(Task("report:daily", b"1"), unique=60, queue="low")


def test_a_unique_enqueue_that_hits_an_id_conflict_leaves_no_lock(client, redis_client):
    # Go leaks the lock here until its TTL (spec §8.14); ours releases the lock it just took.
    client.enqueue(Task("a"), task_id="fixed")
    with pytest.raises(TaskIdConflictError):
        client.enqueue(Task("b", b"1"), task_id="fixed", unique=600)
    assert list(redis_client.scan_iter("asynq:{default}:unique:*")) == []
    client.enqueue(Task("b", b"1"), unique=600)  # the lock is free


# ---------------------------------------------------------------------------- E3 schedule


def test_schedule_writes_msg_and_state_and_an_integer_score(client, redis_client):
    info = client.enqueue(Task("x"), process_in=timedelta(seconds=10))
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state"}
    assert h[b"state"] == b"scheduled"
    assert redis_client.type("asynq:{default}:scheduled") == b"zset"
    assert redis_client.zrange("asynq:{default}:scheduled", 0, -1, withscores=True) == [
        (info.id.encode(), float(NOW_S + 10))
    ]
    assert redis_client.llen("asynq:{default}:pending") == 0
    assert redis_client.smembers("asynq:queues") == {b"default"}


def test_schedule_unique_holds_the_lock_until_process_at_plus_the_ttl(client, redis_client):
    info = client.enqueue(Task("report:weekly", b"w"), process_in=100, unique=60)
    (lock,) = redis_client.scan_iter("asynq:{default}:unique:report:weekly:*")
    assert redis_client.get(lock) == info.id.encode()
    assert redis_client.ttl(lock) == 160
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state", b"unique_key"}
    assert (h[b"state"], h[b"unique_key"]) == (b"scheduled", lock)


def test_a_scheduled_task_with_a_group_gets_no_group_field_as_in_go(client, redis_client):
    info = client.enqueue(Task("x"), process_in=60, group="user:42")
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state"}
    assert decode_task_message(h[b"msg"]).group_key == "user:42"
    assert redis_client.exists("asynq:{default}:groups", "asynq:{default}:g:user:42") == 0


# ------------------------------------------------------------------------ E4 add to group


def test_add_to_group_writes_the_group_field_zset_and_group_name(client, redis_client):
    info = client.enqueue(Task("notification:push", b"n"), group="user:42:notifications")
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state", b"group"}
    assert (h[b"state"], h[b"group"]) == (b"aggregating", b"user:42:notifications")
    assert decode_task_message(h[b"msg"]).group_key == "user:42:notifications"
    gkey = "asynq:{default}:g:user:42:notifications"
    assert redis_client.type(gkey) == b"zset"
    assert redis_client.zrange(gkey, 0, -1, withscores=True) == [(info.id.encode(), float(NOW_S))]
    assert redis_client.smembers("asynq:{default}:groups") == {b"user:42:notifications"}
    assert redis_client.llen("asynq:{default}:pending") == 0
    assert redis_client.smembers("asynq:queues") == {b"default"}


def test_add_to_group_unique_takes_the_lock_but_writes_no_unique_key_field(client, redis_client):
    info = client.enqueue(Task("analytics:event", b"e"), group="batch", unique=120)
    (lock,) = redis_client.scan_iter("asynq:{default}:unique:analytics:event:*")
    assert (redis_client.get(lock), redis_client.ttl(lock)) == (info.id.encode(), 120)
    h = fields(redis_client, f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state", b"group"}
    assert decode_task_message(h[b"msg"]).unique_key == lock.decode()
    with pytest.raises(DuplicateTaskError):
        client.enqueue(Task("analytics:event", b"e"), group="batch", unique=120)


# --------------------------------------------------------------------------- ID conflicts


@pytest.mark.parametrize(
    "state", ["pending", "active", "scheduled", "retry", "archived", "completed", "aggregating"]
)
@pytest.mark.parametrize(
    "options",
    [{}, {"unique": 60}, {"process_in": 60}, {"process_in": 60, "unique": 60}, {"group": "g"}],
    ids=["enqueue", "enqueue-unique", "schedule", "schedule-unique", "add-to-group"],
)
def test_a_reused_id_in_any_state_conflicts_and_writes_nothing_but_the_sadd(
    client, redis_client, state, options
):
    existing = seed_task(redis_client, state, make_message(id="taken", queue="q"), now=NOW)
    before = snapshot(redis_client)
    with pytest.raises(TaskIdConflictError) as caught:
        client.enqueue(Task("other", b"new"), queue="q", task_id="taken", **options)
    assert str(caught.value) == "task ID conflicts with another task"
    assert (caught.value.queue, caught.value.task_id) == ("q", "taken")
    assert snapshot(redis_client) == before  # the seeder already SADDed "q"
    assert decode_task_message(redis_client.hget("asynq:{q}:t:taken", "msg")) == existing


def test_an_id_conflict_still_registers_the_queue(client, redis_client):
    seed_task(redis_client, "archived", make_message(id="taken", queue="q"), now=NOW)
    redis_client.delete("asynq:queues")
    with pytest.raises(TaskIdConflictError):
        client.enqueue(Task("x"), queue="q", task_id="taken")
    assert redis_client.smembers("asynq:queues") == {b"q"}


def test_the_same_id_in_another_queue_does_not_conflict(client, redis_client):
    client.enqueue(Task("x"), task_id="shared")
    client.enqueue(Task("x"), task_id="shared", queue="low")
    assert redis_client.exists("asynq:{default}:t:shared", "asynq:{low}:t:shared") == 2
