"""TaskInfo.unique_key: the unique lock a task was enqueued with, from Go's data and ours."""

from __future__ import annotations

import pytest
import redis

from queuecore import Client, Inspector, Task, TaskState, keys
from queuecore.clock import FrozenClock
from queuecore.messages import decode_task_message
from tests.support.asynq_fixture import CAPTURED_AT, load_into

# Tasks Go asynq enqueued with Unique(...) in the captured data (fixtures README).
GO_UNIQUE = {
    "cb5a5660-ef12-42ce-979c-e58199f52429": (
        "pending",
        "asynq:{default}:unique:report:daily:63222e33dc4fb8985a57e225762bec02",
    ),
    "cbc88596-36e5-4dbe-991e-5cb3ea514f08": (
        "scheduled",
        "asynq:{default}:unique:report:weekly:f662bb218611430c76419bf0ff2c23d3",
    ),
    "retry-flaky-report": (
        "retry",
        "asynq:{default}:unique:report:generate:12166610ad5070c3b5a8eafed5b63430",
    ),
}


@pytest.fixture
def go_inspector(redis_client: redis.Redis, redis_url: str):
    load_into(redis_client)
    inspector = Inspector.from_url(redis_url, clock=FrozenClock(CAPTURED_AT.timestamp()))
    yield inspector
    inspector.close()


@pytest.mark.parametrize(("task_id", "expected"), GO_UNIQUE.items())
def test_go_tasks_enqueued_with_unique_report_their_lock_key(
    go_inspector: Inspector, redis_client: redis.Redis, task_id: str, expected: tuple[str, str]
) -> None:
    state, unique_key = expected
    info = go_inspector.get_task_info("default", task_id)
    assert info.state is TaskState(state)
    assert info.unique_key == unique_key
    # The key is the lock Go holds, naming this very task.
    assert redis_client.get(unique_key) == task_id.encode()


def test_go_tasks_and_listings_without_unique_have_an_empty_key(go_inspector: Inspector) -> None:
    seen = 0
    for queue in go_inspector.queues():
        for state in TaskState:
            if state is TaskState.AGGREGATING:
                continue  # listed per group
            for info in go_inspector.list_tasks(queue, state, page_size=100):
                seen += 1
                assert info.unique_key == GO_UNIQUE.get(info.id, ("", ""))[1], info.id
    assert seen > len(GO_UNIQUE)


def test_a_unique_enqueue_reports_and_stores_the_lock_key(redis_url: str) -> None:
    client = Client.from_url(redis_url)
    inspector = Inspector.from_url(redis_url)
    try:
        info = client.enqueue(Task("report:daily", b'{"day": 1}'), unique=3600, queue="reports")
        plain = client.enqueue(Task("report:daily", b'{"day": 2}'), queue="reports")
        expected = keys.unique_key("reports", "report:daily", b'{"day": 1}')
        assert info.unique_key == expected
        assert plain.unique_key == ""
        assert inspector.get_task_info("reports", info.id).unique_key == expected
        assert inspector.get_task_info("reports", plain.id).unique_key == ""
    finally:
        client.close()
        inspector.close()


@pytest.mark.parametrize(
    "options",
    [
        {"unique": 60},
        {"unique": 60, "process_in": 300},
        {"unique": 60, "group": "g"},
    ],
)
def test_every_enqueue_path_reports_the_same_key_it_stores(
    redis_url: str, redis_client: redis.Redis, options: dict[str, object]
) -> None:
    client = Client.from_url(redis_url)
    try:
        one = client.enqueue(Task("t:one", b"a"), **options)  # type: ignore[arg-type]
        [batch] = client.enqueue_many([Task("t:many", b"b")], **options)  # type: ignore[arg-type]
    finally:
        client.close()
    for info in (one, batch):
        stored = decode_task_message(redis_client.hget(keys.task_key("default", info.id), "msg"))
        assert info.unique_key == stored.unique_key
        assert info.unique_key == keys.unique_key("default", info.type, info.payload)
