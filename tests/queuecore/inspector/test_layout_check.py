"""Inspector.layout_check against real Redis: Go's v0.26 data, an empty DB and older layouts."""

from __future__ import annotations

import json
import uuid

import redis

from queuecore.inspector import (
    LAYOUT_COMPATIBLE,
    LAYOUT_DEADLINES,
    LAYOUT_EMPTY,
    LAYOUT_LIST_MESSAGES,
    LAYOUT_UNKNOWN,
    Inspector,
)
from queuecore.messages import encode_task_message
from tests.support.asynq_fixture import load_into
from tests.support.factories import make_message, seed_task


def _json_message(queue: str) -> bytes:
    """A task as asynq < 0.18 stored it: Go's JSON of its TaskMessage struct."""
    return json.dumps(
        {
            "Type": "email:send",
            "Payload": {"to": "a@example.com"},
            "ID": str(uuid.uuid4()),
            "Queue": queue,
            "Retry": 25,
            "Retried": 0,
            "ErrorMsg": "",
            "Timeout": 1800,
            "Deadline": 0,
            "UniqueKey": "",
        }
    ).encode()


def test_layout_check_calls_an_empty_redis_empty_and_compatible(inspector: Inspector) -> None:
    report = inspector.layout_check()

    assert report.layout == LAYOUT_EMPTY
    assert report.compatible
    assert report.findings == ()


def test_layout_check_accepts_the_data_go_asynq_v026_wrote(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    load_into(redis_client)

    report = inspector.layout_check()

    assert report.layout == LAYOUT_COMPATIBLE
    assert report.compatible
    assert report.findings == ()
    assert report.queues_checked == report.queues_total > 0


def test_layout_check_accepts_tasks_seeded_in_every_state(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for state in ("pending", "active", "scheduled", "retry", "archived", "completed"):
        seed_task(redis_client, state)

    assert inspector.layout_check().layout == LAYOUT_COMPATIBLE


def test_layout_check_finds_json_messages_in_a_pending_list(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.sadd("asynq:queues", "legacy")
    redis_client.lpush("asynq:{legacy}:pending", _json_message("legacy"))

    report = inspector.layout_check()

    assert report.layout == LAYOUT_LIST_MESSAGES
    assert not report.compatible
    assert report.findings == (
        "queue 'legacy''s pending list holds JSON-encoded messages instead of task ids (asynq "
        "keeps ids there since v0.18): written by asynq < 0.18 or a foreign client; "
        "not readable here",
    )
    assert "v0.22 or later" in report.advice


def test_layout_check_finds_protobuf_messages_where_ids_belong(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")  # a well-formed neighbour changes nothing
    redis_client.zadd(
        "asynq:{default}:retry",
        {encode_task_message(make_message()): 1_795_621_221},
    )

    report = inspector.layout_check()

    assert report.layout == LAYOUT_LIST_MESSAGES
    assert len(report.findings) == 1
    assert "'default''s retry zset holds protobuf-encoded messages" in report.findings[0]


def test_layout_check_finds_the_pre_v018_pending_list_key(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.sadd("asynq:queues", "default")
    redis_client.lpush("asynq:{default}", _json_message("default"))
    # Not registered: met only by the bounded SCAN.
    redis_client.lpush("asynq:{critical}", _json_message("critical"))

    report = inspector.layout_check()

    assert report.layout == LAYOUT_LIST_MESSAGES
    assert (
        "queue 'default' has a list at asynq:{default}, where asynq < 0.18 kept its pending "
        "messages; not readable here"
    ) in report.findings
    assert (
        "key asynq:{critical} is asynq < 0.18's pending list of queue 'critical'; not readable here"
    ) in report.findings


def test_layout_check_names_a_queue_key_of_the_wrong_redis_type(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    redis_client.set("asynq:{default}:scheduled", b"not a zset")

    report = inspector.layout_check()

    assert report.layout == LAYOUT_UNKNOWN
    assert not report.compatible
    assert report.findings == (
        "queue 'default''s scheduled key asynq:{default}:scheduled is a string, not a zset: "
        "not asynq's layout; its tasks cannot be read",
    )
    assert "QUEUECORE['REDIS_URL']" in report.advice


def test_layout_check_names_a_queue_registry_that_is_not_a_set(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.rpush("asynq:queues", b"default")

    report = inspector.layout_check()

    assert report.layout == LAYOUT_UNKNOWN
    assert report.findings[0].startswith("asynq:queues is a list, not a set")


def test_layout_check_spots_servers_older_than_leases(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    msg = seed_task(redis_client, "active")
    redis_client.zadd("asynq:{default}:deadlines", {msg.id: 1_795_622_000})

    report = inspector.layout_check()

    assert report.layout == LAYOUT_DEADLINES
    assert not report.compatible
    assert "asynq:{default}:deadlines" in report.findings[0]


def test_layout_check_reads_only_a_bounded_number_of_queues(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.sadd("asynq:queues", *[f"q{i}" for i in range(50)])

    report = inspector.layout_check()

    assert report.compatible
    assert (report.queues_checked, report.queues_total) == (20, 50)


def test_layout_check_leaves_the_data_untouched(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    redis_client.sadd("asynq:queues", "legacy")
    redis_client.lpush("asynq:{legacy}:pending", _json_message("legacy"))
    before = redis_client.dbsize()

    inspector.layout_check()

    assert redis_client.dbsize() == before
    assert redis_client.llen("asynq:{legacy}:pending") == 1
