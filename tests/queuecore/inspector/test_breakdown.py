"""breakdown: what is in a state, by task type and by error signature, bounded by a budget."""

from __future__ import annotations

from collections import Counter

import pytest
import redis

from queuecore import InvalidArgumentError, QueueNotFoundError, keys
from queuecore.inspection import Breakdown, TypeCount
from queuecore.inspector import Inspector
from queuecore.inspector import breakdown as breakdown_module
from queuecore.messages import encode_task_message
from queuecore.taskinfo import TaskState
from tests.support.asynq_fixture import load_into
from tests.support.factories import make_message, seed_task

TIMEOUTS = ("timeout after 30s on 10.0.0.1:6379", "timeout after 5s on 10.0.0.2:6380")


def seed_archive(client: redis.Redis) -> None:
    """30 archived tasks of three types and three kinds of error, plus four malformed rows."""
    for i in range(30):
        type_ = ("email:send", "report:build", "image:resize")[i % 3]
        error = (TIMEOUTS[0], TIMEOUTS[1], f"user {1000 + i} not found", "")[i % 4]
        seed_task(client, "archived", type=type_, error_msg=error, score=1_000 + i)
    add_malformed_rows(client, "archived", keys.archived_key("default"))


def add_malformed_rows(client: redis.Redis, state: str, container: str) -> None:
    """An id without a record, a record without msg, garbage msg bytes, a key of another type."""
    ids = ["gone", "no-msg", "garbage", "string-key"]
    client.hset(keys.task_key("default", "no-msg"), mapping={"state": state})
    client.hset(
        keys.task_key("default", "garbage"),
        mapping={"msg": b"\xff\xff not protobuf", "state": state},
    )
    client.set(keys.task_key("default", "string-key"), b"x")
    if state in ("pending", "active"):
        client.lpush(container, *ids)
    else:
        client.zadd(container, {task_id: 5_000 + n for n, task_id in enumerate(ids)})


def test_breakdown_counts_every_task_by_type_and_error_signature_when_the_budget_covers_all(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_archive(redis_client)
    result = inspector.breakdown("default", "archived")
    assert result.types == (
        TypeCount(type="email:send", count=10),
        TypeCount(type="image:resize", count=10),
        TypeCount(type="report:build", count=10),
    )
    assert (result.scanned, result.skipped, result.total, result.counted) == (34, 4, 34, 30)
    assert result.done
    assert result.cursor is None
    signatures = {e.signature: e for e in result.errors}
    assert set(signatures) == {"timeout after <n>s on <addr>", "user <n> not found"}
    timeout = signatures["timeout after <n>s on <addr>"]
    assert timeout.count == 16
    assert timeout.example in TIMEOUTS
    assert list(timeout.types.items()) == [
        ("report:build", 6),
        ("email:send", 5),
        ("image:resize", 5),
    ]
    missing = signatures["user <n> not found"]
    assert missing.count == 7
    assert missing.example.startswith("user 10")
    assert list(missing.types.items()) == [
        ("image:resize", 3),
        ("email:send", 2),
        ("report:build", 2),
    ]
    assert result.errored == 23
    assert [e.count for e in result.errors] == [16, 7]


def test_breakdown_groups_timeouts_that_differ_only_in_numbers_and_addresses(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for error in TIMEOUTS:
        seed_task(redis_client, "retry", error_msg=error, retried=1)
    seed_task(redis_client, "retry", error_msg=TIMEOUTS[0], retried=2)
    (only,) = inspector.breakdown("default", "retry").errors
    assert (only.signature, only.count) == ("timeout after <n>s on <addr>", 3)
    assert only.example == TIMEOUTS[0]  # the most frequent raw message


def test_a_partial_breakdown_continued_with_its_cursor_adds_up_to_the_full_counts(
    inspector: Inspector, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_archive(redis_client)
    monkeypatch.setattr(breakdown_module, "BREAKDOWN_READ_SIZE", 3)
    full = inspector.breakdown("default", "archived")
    first = inspector.breakdown("default", "archived", budget=8)
    assert (first.scanned, first.total, first.done, first.cursor) == (8, 34, False, "8")
    parts = [first]
    while not parts[-1].done:
        parts.append(inspector.breakdown("default", "archived", budget=8, cursor=parts[-1].cursor))
    assert [p.scanned for p in parts] == [8, 8, 8, 8, 2]
    total = parts[0]
    for part in parts[1:]:
        total = total.merged(part)
    assert total.types == full.types
    assert [(e.signature, e.count, dict(e.types)) for e in total.errors] == [
        (e.signature, e.count, dict(e.types)) for e in full.errors
    ]
    assert (total.scanned, total.skipped, total.done) == (34, 4, True)


def test_breakdown_reads_lists_and_groups_as_their_pages_do(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    for n in range(5):
        seed_task(redis_client, "pending", type=f"t{n % 2}")
    add_malformed_rows(redis_client, "pending", keys.pending_key("default"))
    pending = inspector.breakdown("default", TaskState.PENDING, budget=3)
    rest = inspector.breakdown("default", TaskState.PENDING, cursor=pending.cursor)
    assert pending.merged(rest).types == (
        TypeCount(type="t0", count=3),
        TypeCount(type="t1", count=2),
    )
    assert (pending.merged(rest).skipped, rest.total) == (4, 9)
    # The first three ranks are the oldest (right) end of the list, as list_tasks pages it.
    assert pending.skipped == 0
    seed_task(redis_client, "aggregating", type="batch:item", group_key="g1")
    seed_task(redis_client, "aggregating", type="batch:item", group_key="g2")
    grouped = inspector.breakdown("default", "aggregating", group="g1")
    assert (grouped.types, grouped.group) == ((TypeCount(type="batch:item", count=1),), "g1")
    with pytest.raises(InvalidArgumentError):
        inspector.breakdown("default", "aggregating")


def test_breakdown_reads_only_type_and_error_from_any_well_formed_message(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    # Negative integers are 10-byte varints, headers are a map (field 15, a two-byte tag), the
    # payload is large and binary; two messages concatenated merge, the last value winning.
    big = make_message(
        type="über:täsk",
        payload=bytes(range(256)) * 400,
        retry=-1,
        deadline=-5,
        timeout=2**40,
        error_msg="fehler: 'ä'",
        headers={"trace": "abc"},
        group_key="g",
    )
    seed_task(redis_client, "archived", big)
    first, second = make_message(type="old"), make_message(type="new", error_msg="late error")
    tid = first.id
    merged = encode_task_message(first) + encode_task_message(second)
    redis_client.hset(keys.task_key("default", tid), mapping={"msg": merged, "state": "archived"})
    redis_client.zadd(keys.archived_key("default"), {tid: 1})
    truncated = make_message(type="cut")  # cut inside its payload
    redis_client.hset(
        keys.task_key("default", truncated.id),
        mapping={"msg": encode_task_message(truncated)[:10], "state": "archived"},
    )
    redis_client.zadd(keys.archived_key("default"), {truncated.id: 2})
    bad_text = make_message(type="bad-text")
    redis_client.hset(
        keys.task_key("default", bad_text.id),
        # error_msg (field 7) that is not UTF-8: not a valid proto3 string, so not a task.
        mapping={"msg": encode_task_message(bad_text) + b"\x3a\x02\xff\xfe", "state": "archived"},
    )
    redis_client.zadd(keys.archived_key("default"), {bad_text.id: 3})
    result = inspector.breakdown("default", "archived")
    assert {t.type: t.count for t in result.types} == {"über:täsk": 1, "new": 1}
    assert {e.signature: e.example for e in result.errors} == {
        "fehler: <str>": "fehler: 'ä'",
        "late error": "late error",
    }
    assert result.skipped == 2


def test_breakdown_of_an_empty_or_foreign_state_is_empty_and_done(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "pending")
    assert inspector.breakdown("default", "retry") == Breakdown(
        queue="default", state=TaskState.RETRY
    )
    redis_client.set(keys.scheduled_key("default"), b"not a zset")
    foreign = inspector.breakdown("default", "scheduled")
    assert (foreign.types, foreign.scanned, foreign.total, foreign.done) == ((), 0, 0, True)
    beyond = inspector.breakdown("default", "pending", cursor="50")
    assert (beyond.scanned, beyond.total, beyond.done) == (0, 1, True)


def test_breakdown_refuses_an_unknown_queue_a_bad_cursor_or_budget(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    seed_task(redis_client, "archived")
    with pytest.raises(QueueNotFoundError):
        inspector.breakdown("nope", "archived")
    with pytest.raises(InvalidArgumentError):
        inspector.breakdown("default", "archived", cursor="x")
    with pytest.raises(InvalidArgumentError):
        inspector.breakdown("default", "archived", budget=0)
    with pytest.raises(ValueError):
        inspector.breakdown("default", "finished")


def test_breakdown_of_go_written_data_agrees_with_the_decoded_task_lists(
    inspector: Inspector, redis_client: redis.Redis
) -> None:
    """The Lua reader of type and error_msg against protobuf's own decoding, on asynq's data."""
    load_into(redis_client)
    compared = 0
    for qname in inspector.queues():
        groups = [g.group for g in inspector.groups(qname)]
        for state in TaskState:
            for group in groups if state is TaskState.AGGREGATING else [None]:
                if state is TaskState.AGGREGATING and group is None:
                    continue
                listed = inspector.list_tasks(qname, state, 1, 0, group=group)
                result = inspector.breakdown(qname, state, group=group)
                assert {t.type: t.count for t in result.types} == Counter(t.type for t in listed)
                assert result.skipped == listed.skipped
                assert result.errored == sum(1 for t in listed if t.last_err)
                compared += len(listed)
    assert compared > 20
