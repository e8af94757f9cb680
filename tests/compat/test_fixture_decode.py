"""Every task Go asynq v0.26 left in the fixture decodes to what Go's own Inspector reported.

Driven by the fixture files (inspect-<queue>.json, populate-summary.json): each task's raw
hash is read from a real Redis loaded with populated.json and decoded with our messages.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest

from queuecore import keys
from queuecore.messages import decode_task_message, encode_task_message
from queuecore.taskinfo import TaskInfo, TaskState
from tests.support.asynq_fixture import load_into, load_json

QUEUES: list[str] = load_json("inspect-all.json")["queues"]


def inspected_tasks() -> list[tuple[str, str, dict[str, Any]]]:
    """(queue, state, task) for every task in every inspect-<queue>.json."""
    cases = []
    for queue in QUEUES:
        for state, tasks in load_json(f"inspect-{queue}.json")["tasks"].items():
            if state == "aggregating":  # {group: [tasks]}
                tasks = [t for members in tasks.values() for t in members]
            cases.extend((queue, state, task) for task in tasks)
    return cases


CASES = inspected_tasks()
SUMMARY = {t["id"]: t for t in load_json("populate-summary.json")["tasks"]}


def blob(value: dict[str, Any] | None) -> bytes:
    return base64.b64decode(value["b64"]) if value else b""


def unix(text: str | None) -> int:
    return int(datetime.fromisoformat(text).timestamp()) if text else 0


@pytest.fixture
def fixture_redis(redis_client):
    load_into(redis_client)
    return redis_client


def test_the_fixture_holds_tasks_in_every_state():
    assert {state for _, state, _ in CASES} == {s.value for s in TaskState}
    assert len(CASES) == 46


def test_every_task_hash_in_the_dump_was_inspected_by_go(fixture_redis):
    in_redis = {
        key.decode() for q in QUEUES for key in fixture_redis.scan_iter(keys.task_key(q, "*"))
    }
    inspected = {keys.task_key(queue, task["id"]) for queue, _, task in CASES}
    assert in_redis == inspected


@pytest.mark.parametrize(
    ("queue", "state", "task"), CASES, ids=[f"{q}/{s}/{t['id']}" for q, s, t in CASES]
)
def test_a_go_task_decodes_to_the_fields_gos_inspector_reported(fixture_redis, queue, state, task):
    key = keys.task_key(queue, task["id"])
    h = fixture_redis.hgetall(key)
    msg = decode_task_message(h[b"msg"], key=key)

    assert h[b"state"].decode() == task["state"] == state
    assert (msg.type, msg.id, msg.queue) == (task["type"], task["id"], task["queue"])
    assert bytes(msg.payload) == blob(task["payload"])
    assert (msg.retry, msg.retried) == (task["max_retry"], task["retried"])
    assert msg.error_msg == task["last_err"]
    assert msg.last_failed_at == unix(task["last_failed_at"])
    assert msg.timeout == task["timeout_seconds"]
    assert msg.deadline == unix(task["deadline"])
    assert msg.group_key == task["group"]
    assert dict(msg.headers) == (task["headers"] or {})
    assert msg.retention == task["retention_seconds"]
    assert msg.completed_at == unix(task["completed_at"])
    assert h.get(b"result", b"") == blob(task["result"])

    # Our TaskInfo from the same message equals Go's, field by field.
    info = TaskInfo.from_message(msg, TaskState(state), result=h.get(b"result"))
    assert (info.id, info.queue, info.type, info.payload) == (
        task["id"],
        task["queue"],
        task["type"],
        blob(task["payload"]),
    )
    assert (info.max_retry, info.retried, info.last_err, info.group) == (
        task["max_retry"],
        task["retried"],
        task["last_err"],
        task["group"],
    )
    assert info.timeout.total_seconds() == task["timeout_seconds"]
    assert info.retention.total_seconds() == task["retention_seconds"]
    for name in ("deadline", "last_failed_at", "completed_at"):
        expected = task[name] and datetime.fromisoformat(task[name])
        assert getattr(info, name) == (expected or None), name
    assert (info.result or b"") == blob(task["result"])
    assert dict(info.headers) == (task["headers"] or {})


@pytest.mark.parametrize(
    ("queue", "state", "task"), CASES, ids=[f"{q}/{s}/{t['id']}" for q, s, t in CASES]
)
def test_a_go_task_hash_has_the_fields_and_container_of_its_state(
    fixture_redis, queue, state, task
):
    h = fixture_redis.hgetall(keys.task_key(queue, task["id"]))
    msg = decode_task_message(h[b"msg"])
    tid = task["id"].encode()
    expected_fields = {b"msg", b"state"}
    if state == "pending":
        expected_fields.add(b"pending_since")
        assert int(h[b"pending_since"]) > 10**18  # nanoseconds
        assert tid in fixture_redis.lrange(keys.pending_key(queue), 0, -1)
    elif state == "active":
        assert tid in fixture_redis.lrange(keys.active_key(queue), 0, -1)
        assert fixture_redis.zscore(keys.lease_key(queue), tid) is not None
    elif state == "aggregating":
        expected_fields.add(b"group")
        assert h[b"group"].decode() == msg.group_key
        assert fixture_redis.zscore(keys.group_key(queue, msg.group_key), tid) is not None
        assert msg.group_key.encode() in fixture_redis.smembers(keys.all_groups(queue))
    else:
        score = fixture_redis.zscore(keys.state_key(queue, state), tid)
        assert score is not None
        assert score == int(score)  # integer Unix seconds
        if task["next_process_at"]:
            assert score == unix(task["next_process_at"])
    if msg.unique_key:
        expected_fields.add(b"unique_key")
        assert h[b"unique_key"].decode() == msg.unique_key
    if b"result" in h:
        expected_fields.add(b"result")
    assert set(h) == expected_fields


@pytest.mark.parametrize(
    ("queue", "state", "task"), CASES, ids=[f"{q}/{s}/{t['id']}" for q, s, t in CASES]
)
def test_a_go_task_matches_what_populate_recorded_creating_it(fixture_redis, queue, state, task):
    created = SUMMARY[task["id"]]
    assert (created["queue"], created["type"], created["expected_state"]) == (
        queue,
        task["type"],
        state,
    )
    msg = decode_task_message(fixture_redis.hget(keys.task_key(queue, task["id"]), "msg"))
    assert len(msg.payload) == created["payload_bytes"]


def test_go_unique_locks_hold_the_id_of_the_task_that_took_them(fixture_redis):
    locks = {
        key.decode(): fixture_redis.get(key).decode()
        for q in QUEUES
        for key in fixture_redis.scan_iter(f"{keys.queue_key_prefix(q)}unique:*")
    }
    assert locks, "the fixture has unique locks"
    for lock, task_id in locks.items():
        queue = next(q for q, _, t in CASES if t["id"] == task_id)
        msg = decode_task_message(fixture_redis.hget(keys.task_key(queue, task_id), "msg"))
        assert lock == msg.unique_key == keys.unique_key(queue, msg.type, bytes(msg.payload))


@pytest.mark.parametrize(
    ("queue", "state", "task"), CASES, ids=[f"{q}/{s}/{t['id']}" for q, s, t in CASES]
)
def test_re_encoding_a_go_message_gives_gos_bytes(fixture_redis, queue, state, task):
    raw = fixture_redis.hget(keys.task_key(queue, task["id"]), "msg")
    msg = decode_task_message(raw)
    ours = encode_task_message(msg)
    if len(msg.headers) > 1:
        # Go writes map entries in random order (spec §3.2); only the order may differ.
        assert len(ours) == len(raw)
        assert decode_task_message(ours) == msg
    else:
        assert ours == raw
