"""Spec §10 checklist, client side: items 1 (enqueue), 3, 4, 11, 12, 13, 14 and 26.

Each is asserted on raw Redis keys; where Go's own data can take part (the fixture's unique
locks and task ids), it does.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from queuecore import Client, Task, TaskState
from queuecore.clock import FrozenClock, utc_date
from queuecore.errors import DuplicateTaskError, TaskIdConflictError
from queuecore.messages import (
    GO_ZERO_TIME_SECONDS,
    SchedulerEntry,
    TaskMessage,
    decode_task_message,
    encode_task_message,
    timestamp_to_datetime,
)
from queuecore.taskinfo import TaskInfo
from tests.support.asynq_fixture import CAPTURED_AT, load_into, load_json
from tests.support.snapshots import snapshot

NOW = 1795621221.5
NOW_S = 1795621221

VECTOR_HEX = (
    "0a0a656d61696c3a73656e64120e7b22757365725f6964223a34327d1a2430623765396331652d336637612d"
    "346432622d396331642d326136663565386234633364220764656661756c74281940880e"
)
HEADERS_SUFFIX_HEX = "7a0c0a0574726163651203616263"


@pytest.fixture
def client(redis_url):
    with Client(redis_url, clock=FrozenClock(NOW)) as c:
        yield c


def test_item_1_a_task_with_no_options_is_written_as_go_writes_it(client, redis_client):
    info = client.enqueue(Task("email:send", b'{"to":"a@example.com"}'))
    assert redis_client.smembers("asynq:queues") == {b"default"}
    h = redis_client.hgetall(f"asynq:{{default}}:t:{info.id}")
    assert set(h) == {b"msg", b"state", b"pending_since"}
    assert h[b"state"] == b"pending"
    assert int(h[b"pending_since"]) == 1795621221500000000
    assert redis_client.lindex("asynq:{default}:pending", 0) == info.id.encode()
    msg = decode_task_message(h[b"msg"])
    assert (msg.queue, msg.retry, msg.timeout, msg.deadline) == ("default", 25, 1800, 0)


def process_all(redis_url: str, task_type: str) -> None:
    """A burst-mode worker whose ``task_type`` handler succeeds, until the queues are empty."""
    server_module = pytest.importorskip("queuecore.server")
    handlers = pytest.importorskip("queuecore.handlers")
    mux = handlers.ServeMux()
    mux.register(task_type, lambda task: None)
    server = server_module.Server.from_url(redis_url, mux=mux, concurrency=1)
    server.start(burst=True)
    assert server.wait(60), "the burst-mode server did not finish"


def test_item_1_after_processing_the_hash_is_gone_and_the_counters_moved(redis_url, redis_client):
    with Client(redis_url) as client:
        info = client.enqueue(Task("email:send", b"{}"))
    process_all(redis_url, "email:send")
    assert redis_client.exists(f"asynq:{{default}}:t:{info.id}") == 0
    assert redis_client.get("asynq:{default}:processed") == b"1"
    (daily,) = redis_client.scan_iter("asynq:{default}:processed:*")
    assert redis_client.get(daily) == b"1"
    assert 89 * 86400 < redis_client.ttl(daily) <= 90 * 86400


def test_item_3_the_client_stores_the_spec_vector_byte_for_byte(client, redis_client):
    task = Task("email:send", b'{"user_id":42}')
    tid = "0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d"
    client.enqueue(task, task_id=tid)
    stored = redis_client.hget(f"asynq:{{default}}:t:{tid}", "msg")
    assert stored.hex() == VECTOR_HEX
    client.enqueue(task, task_id="with-header", headers={"trace": "abc"})
    with_header = decode_task_message(redis_client.hget("asynq:{default}:t:with-header", "msg"))
    with_header.id = tid
    assert encode_task_message(with_header).hex() == VECTOR_HEX + HEADERS_SUFFIX_HEX


def test_item_3_the_stored_vector_reads_back_as_gos_inspector_would_report_it(client, redis_client):
    tid = "0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d"
    client.enqueue(Task("email:send", b'{"user_id":42}'), task_id=tid)
    msg = decode_task_message(redis_client.hget(f"asynq:{{default}}:t:{tid}", "msg"))
    info = TaskInfo.from_message(msg, TaskState.PENDING)
    assert (info.id, info.queue, info.type, info.payload) == (
        tid,
        "default",
        "email:send",
        b'{"user_id":42}',
    )
    assert (info.max_retry, info.retried, info.timeout, info.deadline) == (
        25,
        0,
        timedelta(minutes=30),
        None,
    )


def test_item_4_an_unknown_field_in_a_stored_msg_survives_a_python_rewrite(redis_client):
    unknown = bytes([16 << 3 | 2, 0x01, 6]) + b"future"
    key = "asynq:{default}:t:0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d"
    redis_client.hset(key, mapping={"msg": bytes.fromhex(VECTOR_HEX) + unknown, "state": "active"})
    msg = decode_task_message(redis_client.hget(key, "msg"))
    msg.retried += 1
    msg.error_msg = "transient failure"
    msg.last_failed_at = NOW_S
    redis_client.hset(key, mapping={"msg": encode_task_message(msg), "state": "retry"})
    rewritten = redis_client.hget(key, "msg")
    assert unknown in rewritten
    assert decode_task_message(rewritten).retried == 1


def test_item_11_a_schedule_gets_an_integer_score_and_the_scheduled_state(client, redis_client):
    info = client.enqueue(Task("x"), process_in=timedelta(seconds=10))
    assert redis_client.hget(f"asynq:{{default}}:t:{info.id}", "state") == b"scheduled"
    assert redis_client.zscore("asynq:{default}:scheduled", info.id) == NOW_S + 10
    # The raw score is the integer Redis stores, not 1795621231.5.
    raw = redis_client.execute_command("ZSCORE", "asynq:{default}:scheduled", info.id)
    assert raw in (b"1795621231", 1795621231.0)


def test_item_12_a_unique_enqueue_holds_the_lock_and_a_second_is_a_duplicate(client, redis_client):
    info = client.enqueue(Task("report:daily", b'{"date":"2026-11-25"}'), unique=60)
    (lock,) = redis_client.scan_iter("asynq:{default}:unique:report:daily:*")
    assert redis_client.get(lock) == info.id.encode()
    assert redis_client.ttl(lock) == 60
    with pytest.raises(DuplicateTaskError):
        client.enqueue(Task("report:daily", b'{"date":"2026-11-25"}'), unique=60)


def test_item_12_a_lock_taken_by_go_refuses_the_same_task_from_python(redis_url, redis_client):
    load_into(redis_client, keep_ttl=True)
    go_task = next(
        t
        for t in load_json("inspect-default.json")["tasks"]["pending"]
        if t["id"] == "cb5a5660-ef12-42ce-979c-e58199f52429"  # Go: Unique(1h)
    )
    payload = base64.b64decode(go_task["payload"]["b64"])
    before = snapshot(redis_client)
    clock = FrozenClock(CAPTURED_AT.timestamp())
    with Client(redis_url, clock=clock) as client, pytest.raises(DuplicateTaskError) as caught:
        client.enqueue(Task(go_task["type"], payload), unique=timedelta(hours=1))
    assert caught.value.unique_key == (
        "asynq:{default}:unique:report:daily:63222e33dc4fb8985a57e225762bec02"
    )
    after = snapshot(redis_client)
    # Values unchanged; the TTLs (loaded from the dump) run on, so compare type and value only.
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}


def test_item_12_the_lock_is_freed_when_the_task_succeeds(redis_url, redis_client):
    with Client(redis_url) as client:
        client.enqueue(Task("report:daily", b"r"), unique=600)
        assert len(list(redis_client.scan_iter("asynq:{default}:unique:*"))) == 1
        process_all(redis_url, "report:daily")
        assert list(redis_client.scan_iter("asynq:{default}:unique:*")) == []
        client.enqueue(Task("report:daily", b"r"), unique=600)  # no longer a duplicate


def go_tasks() -> list[tuple[str, str, str]]:
    cases = []
    for queue in load_json("inspect-all.json")["queues"]:
        for state, tasks in load_json(f"inspect-{queue}.json")["tasks"].items():
            if state == "aggregating":
                tasks = [t for members in tasks.values() for t in members]
            cases.extend((queue, state, t["id"]) for t in tasks)
    return cases


@pytest.fixture
def go_data(redis_client):
    load_into(redis_client)
    return redis_client


@pytest.mark.parametrize(("queue", "state", "task_id"), go_tasks())
def test_item_13_reusing_the_id_of_a_go_task_in_any_state_conflicts_and_writes_nothing(
    go_data, redis_url, queue, state, task_id
):
    before = snapshot(go_data)
    with Client(redis_url, clock=FrozenClock(NOW)) as client:
        for options in ({}, {"process_in": 60}, {"group": "g"}, {"unique": 60}):
            with pytest.raises(TaskIdConflictError):
                client.enqueue(Task("python:task", b"new"), queue=queue, task_id=task_id, **options)
    assert snapshot(go_data) == before  # the queue was already in asynq:queues


def test_item_13_a_conflict_writes_only_the_sadd(client, redis_client):
    client.enqueue(Task("x"), task_id="taken", queue="q")
    redis_client.srem("asynq:queues", "q")
    before = snapshot(redis_client)
    with pytest.raises(TaskIdConflictError):
        client.enqueue(Task("y"), task_id="taken", queue="q")
    after = snapshot(redis_client)
    assert set(after) - set(before) == {b"asynq:queues"}
    assert {k: v for k, v in after.items() if k != b"asynq:queues"} == before


def test_item_14_add_to_group_writes_state_group_zset_and_groups(client, redis_client):
    info = client.enqueue(Task("notification:push", b"n"), group="user:42:notifications")
    h = redis_client.hgetall(f"asynq:{{default}}:t:{info.id}")
    assert (h[b"state"], h[b"group"]) == (b"aggregating", b"user:42:notifications")
    assert b"pending_since" not in h
    assert redis_client.zscore("asynq:{default}:g:user:42:notifications", info.id) == NOW_S
    assert redis_client.smembers("asynq:{default}:groups") == {b"user:42:notifications"}


def test_item_26_empty_group_and_unique_key_fields_and_zero_times_decode(redis_client):
    msg = TaskMessage(type="x", id="t1", queue="default", retry=25, timeout=1800)
    key = "asynq:{default}:t:t1"
    redis_client.hset(
        key,
        mapping={"msg": encode_task_message(msg), "state": "retry", "group": "", "unique_key": ""},
    )
    h = redis_client.hgetall(key)
    info = TaskInfo.from_message(decode_task_message(h[b"msg"]), TaskState(h[b"state"].decode()))
    assert (info.group, info.deadline, info.last_failed_at, info.completed_at) == (
        "",
        None,
        None,
        None,
    )
    assert info.result is None


def test_item_26_a_go_zero_timestamp_reads_as_no_time():
    entry = SchedulerEntry.FromString(
        SchedulerEntry(id="e", spec="@every 30s").SerializeToString()
        + bytes.fromhex("3a0b08")
        + _varint(GO_ZERO_TIME_SECONDS)
    )
    assert entry.prev_enqueue_time.seconds == GO_ZERO_TIME_SECONDS
    assert timestamp_to_datetime(entry.prev_enqueue_time) is None


def test_item_26_go_scheduler_entries_in_the_fixture_decode(redis_client):
    load_into(redis_client)
    (key,) = redis_client.scan_iter("asynq:schedulers:{*")
    entries = [SchedulerEntry.FromString(raw) for raw in redis_client.lrange(key, 0, -1)]
    assert {e.spec for e in entries} == {"*/5 * * * *", "@every 30s"}
    for entry in entries:
        assert timestamp_to_datetime(entry.prev_enqueue_time) is not None
        assert utc_date(entry.next_enqueue_time.seconds) == "2026-11-25"


def _varint(value: int) -> bytes:
    """Two's-complement 64-bit varint, as protobuf encodes a negative int64."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
