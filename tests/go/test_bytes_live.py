"""Live, checklist items 3, 4 and 22: what each language writes, compared byte for byte.

The same enqueue (fixed task id) is made by Go asynq into DB 1 and by our Client into DB 0; every
key, every hash field but the enqueue time, and every ``msg`` byte must be equal. A change to our
encoding that Go would not make fails here first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis

from queuecore import Client, Inspector, Task
from queuecore.messages import decode_task_message, encode_task_message
from tests.go.lab import GoLab
from tests.go.py_side import PyWorker
from tests.support.factories import make_message

pytestmark = [pytest.mark.go, pytest.mark.slow]

TIME_FIELDS = {b"pending_since"}

# (Go lab flags, our enqueue options) for one task of type lab:bytes, payload {"n":1}.
CASES: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "no options": ((), {}),
    "queue, retry, timeout": (
        ("-queue", "critical", "-max-retry", "3", "-timeout", "90s"),
        {"queue": "critical", "max_retry": 3, "timeout": timedelta(seconds=90)},
    ),
    "retention": (("-retention", "2h"), {"retention": timedelta(hours=2)}),
    "unique": (("-unique", "1h"), {"unique": timedelta(hours=1)}),
    "header": (("-header", "trace=abc"), {"headers": {"trace": "abc"}}),
    "group": (("-group", "g1"), {"group": "g1"}),
    "process in": (("-process-in", "1h"), {"process_in": timedelta(hours=1)}),
    "nil payload": (("-nil-payload",), {}),
}


def snapshot(r: redis.Redis) -> dict[bytes, Any]:
    """Every key: its type, a TTL rounded to the minute, and its contents without times."""
    out: dict[bytes, Any] = {}
    for key in sorted(r.keys("*")):
        kind = r.type(key)
        if kind == b"hash":
            value: Any = {k: v for k, v in r.hgetall(key).items() if k not in TIME_FIELDS}
        elif kind == b"list":
            value = r.lrange(key, 0, -1)
        elif kind == b"zset":
            value = r.zrange(key, 0, -1)  # members; scores are times
        elif kind == b"set":
            value = sorted(r.smembers(key))
        else:
            value = r.get(key)
        out[key] = (kind, round(r.ttl(key) / 60), value)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_an_enqueue_writes_the_same_keys_and_bytes_as_go(
    case: str, go: GoLab, redis_server, redis_url: str
):
    go_flags, options = CASES[case]
    go_db = GoLab(go.binary, go.port, db=1)
    payload = None if case == "nil payload" else b'{"n":1}'
    go_db.enqueue("-type", "lab:bytes", "-payload", '{"n":1}', "-task-id", "fixed-id", *go_flags)
    Client.from_url(redis_url).enqueue(Task("lab:bytes", payload), task_id="fixed-id", **options)
    ours = redis.Redis(port=redis_server.port, db=0)
    theirs = redis.Redis(port=redis_server.port, db=1)
    assert snapshot(ours) == snapshot(theirs)


def test_item3_the_spec_test_vector_is_what_go_and_we_both_write(
    go: GoLab, redis_url: str, redis_server
):
    vector = bytes.fromhex(
        "0a0a656d61696c3a73656e64120e7b22757365725f6964223a34327d1a2430623765396331652d3366"
        "37612d346432622d396331642d326136663565386234633364220764656661756c74281940880e"
    )
    task_id = "0b7e9c1e-3f7a-4d2b-9c1d-2a6f5e8b4c3d"
    Client.from_url(redis_url).enqueue(Task("email:send", b'{"user_id":42}'), task_id=task_id)
    GoLab(go.binary, go.port, db=1).enqueue(
        "-type", "email:send", "-payload", '{"user_id":42}', "-task-id", task_id
    )
    for db in (0, 1):
        stored = redis.Redis(port=redis_server.port, db=db).hget(
            f"asynq:{{default}}:t:{task_id}", "msg"
        )
        assert stored == vector
    seen = go.taskinfo("default", task_id)
    assert (seen["type"], seen["payload"], seen["max_retry"], seen["timeout_s"]) == (
        "email:send",
        '{"user_id":42}',
        25,
        1800,
    )


def test_item4_an_unknown_field_survives_our_retry_and_go_reads_the_task(
    go: GoLab, redis_url: str, redis_client: redis.Redis, py_worker: PyWorker
):
    msg = make_message(type="lab:fail", payload=b"future", retry=5)
    future_field = b"\x82\x01\x06future"  # field 16, length-delimited: a schema after v0.26
    raw = encode_task_message(msg) + future_field
    key = f"asynq:{{default}}:t:{msg.id}"
    redis_client.sadd("asynq:queues", "default")
    redis_client.hset(key, mapping={"msg": raw, "state": "pending", "pending_since": "1"})
    redis_client.lpush("asynq:{default}:pending", msg.id)
    py_worker.run_burst(retry_delay=lambda n, e, t: 3600)
    after_ours = redis_client.hget(key, "msg")
    assert future_field in after_ours
    assert decode_task_message(after_ours).retried == 1
    seen = go.taskinfo("default", msg.id)
    assert (seen["state"], seen["retried"], seen["last_err"]) == ("retry", 1, "boom from python")
    assert go.action("run", "default", msg.id)["ok"]
    worker = go.work()
    worker.wait_event("error", msg.id)
    worker.stop()
    after_go = redis_client.hget(key, "msg")
    assert decode_task_message(after_go).retried == 2
    # Go itself drops it: it rebuilds msg from its own struct on every re-encode. Keeping it is
    # the spec's requirement for us (§10 item 4), not something Go does.
    assert future_field not in after_go


def test_item22_delete_queue_leaves_what_go_leaves(go: GoLab, redis_server, redis_url: str):
    for db in (0, 1):
        lab = GoLab(go.binary, go.port, db=db)
        lab.enqueue("-queue", "gone", "-type", "lab:p", "-task-id", "p1")
        lab.enqueue("-queue", "gone", "-type", "lab:s", "-task-id", "s1", "-process-in", "1h")
        lab.enqueue("-queue", "gone", "-type", "lab:u", "-task-id", "u1", "-unique", "1h")
        lab.enqueue("-queue", "gone", "-type", "lab:g", "-task-id", "g1", "-group", "grp")
        assert lab.action("pause", "gone")["ok"]
    refused = go.action("deletequeue", "gone")
    assert refused["class"] == "queue_not_empty"
    with pytest.raises(Exception, match="not empty"):
        Inspector.from_url(redis_url.replace("/0", "/1")).delete_queue("gone")
    assert go.action("deletequeue", "gone", "", "-force")["ok"]
    Inspector.from_url(redis_url.replace("/0", "/1")).delete_queue("gone", force=True)
    ours = redis.Redis(port=redis_server.port, db=1)
    theirs = redis.Redis(port=redis_server.port, db=0)
    left_by_us, left_by_go = snapshot(ours), snapshot(theirs)
    # The paused flag holds the Unix second of its pause, and the two pauses above can fall in
    # different seconds: equal type and TTL, values within a second or two.
    paused = b"asynq:{gone}:paused"
    (our_type, our_ttl, our_at), (go_type, go_ttl, go_at) = (
        left_by_us.pop(paused),
        left_by_go.pop(paused),
    )
    assert (our_type, our_ttl) == (go_type, go_ttl)
    assert abs(int(our_at) - int(go_at)) <= 2
    assert left_by_us == left_by_go
    assert left_by_us  # Go leaves the group and the unique lock behind (and the paused flag)
