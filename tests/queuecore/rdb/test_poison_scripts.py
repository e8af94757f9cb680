"""Each script that walks a batch of ids handles a bad id on its own (README, "Poison data").

The check for the good tasks is always the same: run the script on good tasks mixed with garbage,
drop the garbage from the picture, and compare with the same script run on the good tasks alone
(asynq's end state). The garbage itself must end where the rule says.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.errors import MalformedDataError
from queuecore.inspector import Inspector
from queuecore.rdb.worker import WorkerStore
from queuecore.taskinfo import TaskState
from tests.support.factories import make_message, seed_task
from tests.support.snapshots import snapshot

NOW = 1_795_621_221
Q = "default"
BAD = ("bad-string", "bad-list", "bad-proto", "no-msg", "ghost")


@pytest.fixture
def store(redis_url: str) -> WorkerStore:
    return WorkerStore.from_url(redis_url)


def plant(r: redis.Redis) -> None:
    """One record of each bad kind under the BAD ids (ghost has no key at all)."""
    r.set(keys.task_key(Q, "bad-string"), "x")
    r.rpush(keys.task_key(Q, "bad-list"), "a")
    r.hset(keys.task_key(Q, "bad-proto"), mapping={"msg": b"not protobuf", "state": "x"})
    r.hset(keys.task_key(Q, "no-msg"), "state", "x")


def good_messages(n: int, **overrides: Any) -> list[Any]:
    return [make_message(id=f"good-{i:02d}", **overrides) for i in range(n)]


def without_garbage(snap: dict[bytes, Any]) -> dict[bytes, Any]:
    bad = {b.encode() for b in BAD}
    kept: dict[bytes, Any] = {}
    for key, (kind, value, ttl) in snap.items():
        if any(key.endswith(b":t:" + b) for b in bad):
            continue
        if kind == b"list":
            value = [v for v in value if v not in bad]
        elif kind == b"zset":
            value = [(m, s) for m, s in value if m not in bad]
        if value:
            kept[key] = (kind, value, ttl)
    return kept


def same_end_state_for_good_tasks(
    r: redis.Redis, seed: Callable[[bool], None], act: Callable[[], Any]
) -> Any:
    """Seed with and without garbage, act on each; the good tasks must end alike."""
    seed(False)
    act()
    alone = snapshot(r)
    r.flushdb()
    seed(True)
    result = act()
    assert without_garbage(snapshot(r)) == alone
    return result


def test_dequeue_claims_every_good_task_of_a_batch_and_quarantines_each_bad_id(store, redis_client):
    msgs = good_messages(6)

    def seed(garbage: bool) -> None:
        for i, msg in enumerate(msgs):
            seed_task(redis_client, "pending", msg, now=NOW)
            if garbage and i < len(BAD):
                redis_client.lpush(keys.pending_key(Q), BAD[i])
        if garbage:
            plant(redis_client)

    claimed = same_end_state_for_good_tasks(
        redis_client, seed, lambda: store.dequeue(Q, NOW + 30, 100, NOW)
    )
    assert [m.id for m in claimed] == [m.id for m in msgs]
    assert redis_client.zrange(keys.archived_key(Q), 0, -1, withscores=True) == [
        (b"bad-list", NOW),
        (b"bad-proto", NOW),
        (b"bad-string", NOW),
        (b"no-msg", NOW),
    ]
    assert redis_client.hget(keys.task_key(Q, "bad-proto"), "state") == b"archived"
    assert redis_client.hget(keys.task_key(Q, "bad-proto"), "msg") == b"not protobuf"
    assert not redis_client.exists(keys.task_key(Q, "ghost"))
    assert store.poison.counts == {(Q, "archived"): 4, (Q, "dropped"): 1}


def test_dequeue_runs_a_valid_five_megabyte_message(store, redis_client):
    big = seed_task(redis_client, "pending", make_message(payload=b"\x01" * (5 << 20)), now=NOW)
    (msg,) = store.dequeue(Q, NOW + 30, 10, NOW) or []
    assert msg.id == big.id
    assert len(msg.payload) == 5 << 20


@pytest.mark.parametrize("name", ["pending", "active", "lease", "archived"])
def test_dequeue_refuses_a_queue_whose_key_has_a_foreign_type_and_touches_nothing(
    store, redis_client, name
):
    seed_task(redis_client, "pending", now=NOW)
    if name == "archived":  # only looked at when there is something to quarantine
        redis_client.lpush(keys.pending_key(Q), "ghost")
    redis_client.delete(getattr(keys, f"{name}_key")(Q))
    redis_client.set(getattr(keys, f"{name}_key")(Q), "x")
    before = snapshot(redis_client)
    with pytest.raises(MalformedDataError, match=name):
        store.dequeue(Q, NOW + 30, 10, NOW)
    assert snapshot(redis_client) == before


def test_a_claimed_message_that_is_not_protobuf_is_archived_at_once(store, redis_client):
    redis_client.hset(keys.task_key(Q, "bad-proto"), mapping={"msg": b"\xff" * 8})
    redis_client.lpush(keys.pending_key(Q), "bad-proto")
    good = seed_task(redis_client, "pending", now=NOW)
    claimed = store.dequeue(Q, NOW + 30, 10, NOW) or []
    assert [m.id for m in claimed] == [good.id]
    assert redis_client.lrange(keys.active_key(Q), 0, -1) == [good.id.encode()]
    assert redis_client.zrange(keys.lease_key(Q), 0, -1) == [good.id.encode()]
    assert redis_client.zscore(keys.archived_key(Q), "bad-proto") == NOW


def test_quarantine_leaves_an_id_that_is_no_longer_active_alone(store, redis_client):
    redis_client.hset(keys.task_key(Q, "moved-on"), "state", "retry")
    before = snapshot(redis_client)
    store.quarantine(Q, ["moved-on"], NOW)
    assert snapshot(redis_client) == before
    assert store.poison.total() == 0


def test_lease_recovery_returns_every_good_expired_task_and_quarantines_each_bad_id(
    store, redis_client
):
    msgs = good_messages(4)

    def seed(garbage: bool) -> None:
        for msg in msgs:
            seed_task(redis_client, "active", msg, score=NOW - 100)
        if garbage:
            plant(redis_client)
            for bad in BAD:
                redis_client.lpush(keys.active_key(Q), bad)
                redis_client.zadd(keys.lease_key(Q), {bad: NOW - 100})

    expired = same_end_state_for_good_tasks(
        redis_client, seed, lambda: store.list_lease_expired(Q, NOW - 30, NOW)
    )
    assert sorted(m.id for m in expired) == [m.id for m in msgs]
    archived = redis_client.zrange(keys.archived_key(Q), 0, -1)
    assert sorted(archived) == [b"bad-list", b"bad-proto", b"bad-string", b"no-msg"]
    assert store.poison.counts == {(Q, "archived"): 4, (Q, "dropped"): 1}


def test_lease_recovery_of_a_queue_with_a_mistyped_lease_key_is_refused(store, redis_client):
    redis_client.set(keys.lease_key(Q), "x")
    with pytest.raises(MalformedDataError, match="lease"):
        store.list_lease_expired(Q, NOW - 30, NOW)


@pytest.mark.parametrize("state", ["scheduled", "retry"])
def test_forward_moves_every_good_due_task_and_quarantines_each_bad_id(store, redis_client, state):
    msgs = good_messages(5)
    grouped = make_message(id="good-grouped", group_key="g")

    def seed(garbage: bool) -> None:
        for msg in msgs:
            seed_task(redis_client, state, msg, score=NOW - 10)
        seed_task(redis_client, state, grouped, score=NOW - 10)
        redis_client.hset(keys.task_key(Q, grouped.id), "group", "g")
        if garbage:
            plant(redis_client)
            redis_client.zadd(keys.state_key(Q, state), dict.fromkeys(BAD, NOW - 10))

    taken = same_end_state_for_good_tasks(redis_client, seed, lambda: store.forward(Q, state, NOW))
    assert taken == 6 + len(BAD)
    archived = redis_client.zrange(keys.archived_key(Q), 0, -1)
    assert sorted(archived) == [b"bad-list", b"bad-string", b"no-msg"]
    # bad-proto is a hash with a msg: Lua cannot tell, so it moves; the claim quarantines it.
    assert redis_client.lpos(keys.pending_key(Q), "bad-proto") is not None


def inspector(url: str) -> Inspector:
    return Inspector.from_url(url, clock=FrozenClock(NOW), chunk_size=3)


@pytest.mark.parametrize(
    ("action", "state"),
    [
        ("run_all", "archived"),
        ("run_all", "scheduled"),
        ("archive_all", "pending"),
        ("archive_all", "retry"),
        ("delete_all", "pending"),
        ("delete_all", "archived"),
    ],
)
def test_every_all_action_acts_on_each_good_task_next_to_bad_ids(
    redis_url, redis_client, action, state
):
    msgs = good_messages(7)
    insp = inspector(redis_url)

    def seed(garbage: bool) -> None:
        for i, msg in enumerate(msgs):
            seed_task(redis_client, state, msg, score=NOW - 100 + i, now=NOW)
            if garbage and i < len(BAD):
                container = keys.state_key(Q, state)
                if state == "pending":
                    redis_client.lpush(container, BAD[i])
                else:
                    redis_client.zadd(container, {BAD[i]: NOW - 100 + i})
        if garbage:
            plant(redis_client)
        redis_client.sadd(keys.ALL_QUEUES, Q)

    same_end_state_for_good_tasks(
        redis_client, seed, lambda: getattr(insp, action)(Q, TaskState(state))
    )


def test_delete_by_id_removes_a_record_of_another_type_from_every_container(
    redis_url, redis_client
):
    redis_client.sadd(keys.ALL_QUEUES, Q)
    redis_client.set(keys.task_key(Q, "bad-string"), "x")
    redis_client.lpush(keys.pending_key(Q), "bad-string")
    redis_client.zadd(keys.archived_key(Q), {"bad-string": NOW})
    good = seed_task(redis_client, "pending", now=NOW)
    insp = inspector(redis_url)
    insp.delete_task(Q, "bad-string")
    assert not redis_client.exists(keys.task_key(Q, "bad-string"), keys.archived_key(Q))
    assert redis_client.lrange(keys.pending_key(Q), 0, -1) == [good.id.encode()]


@pytest.mark.parametrize("action", ["run_task", "archive_task"])
def test_run_or_archive_of_a_record_of_another_type_says_it_cannot_be_read(
    redis_url, redis_client, action
):
    redis_client.sadd(keys.ALL_QUEUES, Q)
    redis_client.set(keys.task_key(Q, "bad-string"), "x")
    redis_client.zadd(keys.archived_key(Q), {"bad-string": NOW})
    with pytest.raises(MalformedDataError, match="only be deleted"):
        getattr(inspector(redis_url), action)(Q, "bad-string")


def test_waiting_on_a_mistyped_pending_key_says_so_instead_of_failing_obscurely(
    store, redis_client
):
    redis_client.set(keys.pending_key(Q), "x")
    with pytest.raises(MalformedDataError, match="pending"):
        store.wait_for_pending(Q, 0.01)
    with pytest.raises(MalformedDataError, match="pending"):
        store.wait_and_dequeue(Q, 0.01, NOW + 30, 10, NOW)


def test_forward_refuses_only_when_due_tasks_meet_a_mistyped_pending_key(store, redis_client):
    redis_client.set(keys.pending_key(Q), "x")
    assert store.forward(Q, "scheduled", NOW) == 0  # nothing due: nothing to refuse
    seed_task(redis_client, "scheduled", score=NOW - 1)
    before = snapshot(redis_client)
    with pytest.raises(MalformedDataError, match="pending"):
        store.forward(Q, "scheduled", NOW)
    assert snapshot(redis_client) == before
