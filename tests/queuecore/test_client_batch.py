"""enqueue_many: one pipelined round trip, each task written (or refused) on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from queuecore import Client, Task, TaskInfo, TaskState
from queuecore.clock import FrozenClock
from queuecore.errors import (
    BatchEnqueueError,
    DuplicateTaskError,
    InvalidArgumentError,
    TaskIdConflictError,
)
from queuecore.messages import decode_task_message
from queuecore.rdb import enqueue as enqueue_store

NOW = 1795621221.5
NOW_S = 1795621221


@pytest.fixture
def client(redis_url):
    with Client(redis_url, clock=FrozenClock(NOW)) as c:
        yield c


def command_calls(r: redis.Redis) -> dict[str, int]:
    return {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in r.info("commandstats").items()
    }


def test_a_batch_is_written_with_one_sadd_and_one_evalsha_per_task(client, redis_client):
    client.enqueue(Task("warm-up"))  # loads the script once
    redis_client.config_resetstat()
    infos = client.enqueue_many([Task("x", b"%d" % i) for i in range(50)])
    calls = command_calls(redis_client)
    # (commandstats also counts the commands the scripts ran: EXISTS, HSET, LPUSH.)
    assert (calls["sadd"], calls["evalsha"]) == (1, 50)
    # No SCRIPT EXISTS / SCRIPT LOAD round trip before the pipeline, no MULTI.
    assert not {"script|exists", "script|load", "multi", "exec", "eval"} & set(calls)
    assert len(infos) == 50


def test_a_batch_writes_every_task_as_a_single_enqueue_would(client, redis_client):
    infos = client.enqueue_many([Task("a", b"1"), Task("b", b"2", queue="low")])
    assert [i.state for i in infos] == [TaskState.PENDING, TaskState.PENDING]
    assert [i.queue for i in infos] == ["default", "low"]
    for info in infos:
        key = f"asynq:{{{info.queue}}}:t:{info.id}"
        h = redis_client.hgetall(key)
        assert set(h) == {b"msg", b"state", b"pending_since"}
        assert decode_task_message(h[b"msg"]).type == info.type
        assert redis_client.lrange(f"asynq:{{{info.queue}}}:pending", 0, -1) == [info.id.encode()]
    assert redis_client.smembers("asynq:queues") == {b"default", b"low"}


def test_a_batch_keeps_the_input_order_in_the_pending_list(client, redis_client):
    infos = client.enqueue_many([Task("x", b"%d" % i) for i in range(5)])
    # Each LPUSH goes left, so the first task of the batch is the first to be dequeued.
    assert redis_client.lrange("asynq:{default}:pending", 0, -1) == [
        i.id.encode() for i in reversed(infos)
    ]


def test_batch_options_apply_to_every_task_over_its_own(client, redis_client):
    infos = client.enqueue_many(
        [Task("a", queue="low", max_retry=1), Task("b")], queue="critical", timeout=60
    )
    assert [(i.queue, i.max_retry, i.timeout) for i in infos] == [
        ("critical", 1, timedelta(seconds=60)),
        ("critical", 25, timedelta(seconds=60)),
    ]


def test_a_batch_mixes_pending_scheduled_and_grouped_tasks(client, redis_client):
    infos = client.enqueue_many(
        [Task("now"), Task("later", process_in=30), Task("grouped", group="g")]
    )
    assert [i.state for i in infos] == [
        TaskState.PENDING,
        TaskState.SCHEDULED,
        TaskState.AGGREGATING,
    ]
    assert redis_client.zscore("asynq:{default}:scheduled", infos[1].id) == NOW_S + 30
    assert redis_client.zscore("asynq:{default}:g:g", infos[2].id) == NOW_S


def test_a_refused_task_raises_with_every_result_after_the_others_were_written(
    client, redis_client
):
    client.enqueue(Task("x"), task_id="taken")
    tasks = [
        Task("a"),
        Task("b", task_id="taken"),
        Task("c", b"u", unique=60),
        Task("c", b"u", unique=60),
    ]
    with pytest.raises(BatchEnqueueError) as caught:
        client.enqueue_many(tasks)
    results = caught.value.results
    assert isinstance(results[0], TaskInfo)
    assert isinstance(results[1], TaskIdConflictError)
    assert isinstance(results[2], TaskInfo)
    assert isinstance(results[3], DuplicateTaskError)
    assert len(caught.value.errors) == 2
    assert "2 of 4 tasks refused" in str(caught.value)
    written = {results[0].id.encode(), results[2].id.encode(), b"taken"}
    assert set(redis_client.lrange("asynq:{default}:pending", 0, -1)) == written


def test_return_exceptions_returns_the_errors_in_place(client):
    client.enqueue(Task("x"), task_id="taken")
    results = client.enqueue_many([Task("a"), Task("b", task_id="taken")], return_exceptions=True)
    assert isinstance(results[0], TaskInfo)
    assert isinstance(results[1], TaskIdConflictError)


def test_two_tasks_with_one_id_in_one_batch_conflict_with_each_other(client, redis_client):
    results = client.enqueue_many(
        [Task("a", task_id="same"), Task("b", task_id="same")], return_exceptions=True
    )
    assert isinstance(results[0], TaskInfo)
    assert isinstance(results[1], TaskIdConflictError)
    assert redis_client.llen("asynq:{default}:pending") == 1


def test_an_invalid_task_in_a_batch_writes_nothing(client, redis_client):
    with pytest.raises(InvalidArgumentError):
        client.enqueue_many([Task("a"), "b"])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError):
        client.enqueue_many([Task("a"), Task("b")], unique=0.1)
    assert redis_client.dbsize() == 0


def test_an_empty_batch_writes_nothing(client, redis_client):
    assert client.enqueue_many([]) == []
    assert redis_client.dbsize() == 0


def test_a_batch_larger_than_one_pipeline_is_split(client, redis_client, monkeypatch):
    monkeypatch.setattr(enqueue_store, "MAX_PIPELINE_TASKS", 3)
    infos = client.enqueue_many((Task("x", b"%d" % i) for i in range(8)), queue="many")
    assert len(infos) == 8
    assert redis_client.llen("asynq:{many}:pending") == 8
