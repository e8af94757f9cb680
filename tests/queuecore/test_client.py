"""Client and Task: asynq's options, defaults, precedence and input checks.

What gets written is decided by ``plan_enqueue`` (pure), table-tested here; the raw Redis
writes are asserted in test_client_writes.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis

from queuecore import Client, Task, TaskInfo, TaskState
from queuecore.client import EnqueueOptions, plan_enqueue
from queuecore.clock import FrozenClock
from queuecore.errors import InvalidArgumentError
from queuecore.messages import decode_task_message
from queuecore.rdb.connection import RedisSettings

NOW = 1795621221.5  # 2026-11-25T15:40:21.5Z: half a second past a whole second, on purpose
NOW_DT = datetime.fromtimestamp(NOW, UTC)


def plan(task: Task, **options):
    return plan_enqueue(task, EnqueueOptions(**options), NOW)


def stored(task: Task, **options):
    return decode_task_message(plan(task, **options).write.message)


# ------------------------------------------------------------------------------- defaults


def test_a_task_without_options_gets_asynqs_defaults():
    p = plan(Task("email:send", b"{}"))
    msg = decode_task_message(p.write.message)
    assert (msg.queue, msg.retry, msg.timeout, msg.deadline) == ("default", 25, 1800, 0)
    assert (msg.retention, msg.unique_key, msg.group_key, msg.retried) == (0, "", "", 0)
    assert p.write.state is TaskState.PENDING
    assert p.info.next_process_at == NOW_DT


def test_the_default_id_is_a_random_uuid4():
    first, second = plan(Task("x")).write.task_id, plan(Task("x")).write.task_id
    assert first != second
    assert uuid.UUID(first).version == 4
    assert str(uuid.UUID(first)) == first


def test_pending_since_is_now_in_nanoseconds():
    assert plan(Task("x")).write.now_ns == 1795621221500000000


@pytest.mark.parametrize(("given", "stored_retry"), [(0, 0), (3, 3), (-1, 0), (-100, 0)])
def test_a_negative_max_retry_means_zero(given, stored_retry):
    assert stored(Task("x"), max_retry=given).retry == stored_retry


@pytest.mark.parametrize(
    ("options", "timeout", "deadline"),
    [
        ({}, 1800, 0),
        ({"timeout": timedelta(minutes=2)}, 120, 0),
        ({"timeout": 90.9}, 90, 0),
        ({"timeout": timedelta(milliseconds=500)}, 0, 0),  # given but < 1 s: Go stores 0
        ({"timeout": 0}, 1800, 0),  # zero is "not given" in Go
        ({"deadline": datetime(2026, 11, 25, 17, 36, 42, 900000, tzinfo=UTC)}, 0, 1795628202),
        ({"deadline": 1795628202.9}, 0, 1795628202),
        (
            {"timeout": 60, "deadline": datetime(2026, 11, 25, 17, 36, 42, tzinfo=UTC)},
            60,
            1795628202,
        ),
    ],
)
def test_timeout_and_deadline_are_stored_as_go_stores_them(options, timeout, deadline):
    msg = stored(Task("x"), **options)
    assert (msg.timeout, msg.deadline) == (timeout, deadline)


def test_a_deadline_in_another_time_zone_is_the_same_instant():
    cet = timezone(timedelta(hours=1))
    when = datetime(2026, 11, 25, 18, 36, 42, tzinfo=cet)
    assert stored(Task("x"), deadline=when).deadline == 1795628202


def test_retention_is_truncated_to_whole_seconds():
    assert stored(Task("x"), retention=timedelta(hours=1, milliseconds=999)).retention == 3600


def test_headers_are_stored_in_the_message():
    assert dict(stored(Task("x"), headers={"trace": "abc"}).headers) == {"trace": "abc"}


def test_a_fixed_task_id_is_used_verbatim():
    assert plan(Task("x"), task_id="report-2026-11-25").write.task_id == "report-2026-11-25"


# ----------------------------------------------------------------------------- precedence


def test_a_process_time_in_the_future_schedules_the_task():
    p = plan(Task("x"), process_in=timedelta(seconds=30))
    assert p.write.state is TaskState.SCHEDULED
    assert p.write.score == 1795621251  # integer Unix seconds, truncated
    assert p.info.next_process_at == NOW_DT + timedelta(seconds=30)
    assert p.info.state is TaskState.SCHEDULED


@pytest.mark.parametrize("process_at", [NOW, NOW - 60, NOW_DT, NOW_DT - timedelta(days=1)])
def test_a_process_time_now_or_past_enqueues_the_task_as_pending(process_at):
    p = plan(Task("x"), process_at=process_at)
    assert p.write.state is TaskState.PENDING
    assert p.info.next_process_at == NOW_DT


def test_process_in_zero_is_pending():
    assert plan(Task("x"), process_in=0).write.state is TaskState.PENDING


def test_a_group_adds_the_task_to_the_group_now():
    p = plan(Task("x"), group="user:42")
    assert (p.write.state, p.write.group, p.write.score) == (
        TaskState.AGGREGATING,
        "user:42",
        1795621221,
    )
    assert p.info.next_process_at is None
    assert p.info.group == "user:42"


def test_a_future_process_time_wins_over_a_group_as_in_go():
    # Spec §8.12: scheduled, the message keeps group_key, but Redis gets no group field.
    p = plan(Task("x"), group="user:42", process_in=timedelta(minutes=5))
    assert p.write.state is TaskState.SCHEDULED
    assert p.write.group == ""
    assert decode_task_message(p.write.message).group_key == "user:42"


# --------------------------------------------------------------------------------- unique


def test_unique_takes_the_lock_on_queue_type_and_payload():
    p = plan(Task("email:send", b'{"user_id":42}'), unique=timedelta(hours=1))
    assert p.write.unique_key == (
        "asynq:{default}:unique:email:send:1181f89307fa271072c095747d5813cc"
    )
    assert p.write.unique_ttl == 3600
    assert decode_task_message(p.write.message).unique_key == p.write.unique_key


def test_unique_lock_of_a_nil_payload_differs_from_an_empty_one_as_in_go():
    nil = plan(Task("lab:noop"), unique=60).write.unique_key
    empty = plan(Task("lab:noop", b""), unique=60).write.unique_key
    assert nil == "asynq:{default}:unique:lab:noop:"
    assert empty == "asynq:{default}:unique:lab:noop:d41d8cd98f00b204e9800998ecf8427e"


def test_unique_ttl_is_truncated_to_whole_seconds():
    assert plan(Task("x"), unique=timedelta(seconds=1, milliseconds=999)).write.unique_ttl == 1


@pytest.mark.parametrize(
    ("process_in", "unique", "ttl"),
    [
        (timedelta(seconds=100), timedelta(seconds=60), 160),
        (timedelta(seconds=100, milliseconds=700), timedelta(seconds=60), 160),
        (timedelta(hours=2), timedelta(hours=3), 5 * 3600),
    ],
)
def test_unique_ttl_of_a_scheduled_task_runs_from_now_until_process_at_plus_ttl(
    process_in, unique, ttl
):
    p = plan(Task("x"), process_in=process_in, unique=unique)
    assert p.write.state is TaskState.SCHEDULED
    assert p.write.unique_ttl == ttl


def test_unique_works_with_a_group():
    p = plan(Task("x", b"1"), group="g", unique=timedelta(minutes=1))
    assert (p.write.state, p.write.unique_ttl) == (TaskState.AGGREGATING, 60)
    assert p.write.unique_key.startswith("asynq:{default}:unique:x:")


# --------------------------------------------------------------- task options and overrides


def test_options_set_on_the_task_are_used():
    task = Task("x", queue="critical", max_retry=3, timeout=60, headers={"a": "1"})
    msg = stored(task)
    assert (msg.queue, msg.retry, msg.timeout, dict(msg.headers)) == ("critical", 3, 60, {"a": "1"})


def test_enqueue_options_override_the_tasks_own():
    task = Task("x", queue="critical", max_retry=3, timeout=60)
    msg = stored(task, queue="low", max_retry=9)
    assert (msg.queue, msg.retry, msg.timeout) == ("low", 9, 60)


def test_enqueue_headers_merge_over_the_tasks_headers():
    task = Task("x", headers={"a": "1", "b": "2"})
    assert dict(stored(task, headers={"b": "3", "c": "4"}).headers) == {
        "a": "1",
        "b": "3",
        "c": "4",
    }


def test_a_process_time_given_at_enqueue_replaces_the_tasks_own():
    task = Task("x", process_in=timedelta(hours=1))
    assert plan(task, process_at=NOW).write.state is TaskState.PENDING


def test_with_options_returns_a_changed_copy():
    task = Task("x", b"p", queue="critical")
    other = task.with_options(queue="low", max_retry=1)
    assert (task.queue, other.queue, other.max_retry, other.payload) == ("critical", "low", 1, b"p")


def test_a_task_is_hashable_and_compares_by_value():
    assert Task("x", b"1", queue="q") == Task("x", b"1", queue="q")
    assert len({Task("x", b"1"), Task("x", b"1"), Task("x", b"2")}) == 2


def test_a_bytearray_payload_is_kept_as_bytes():
    assert Task("x", bytearray(b"\x00\xff")).payload == b"\x00\xff"


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Task(""), "task type"),
        (lambda: Task("   "), "task type"),
        (lambda: Task(None), "task type"),  # type: ignore[arg-type]
        (lambda: Task("x", "text"), "payload must be bytes"),  # type: ignore[arg-type]
        (lambda: Task("x", {"a": 1}), "payload must be bytes"),  # type: ignore[arg-type]
        (lambda: Task("x", queue=""), "queue"),
        (lambda: Task("x", queue="  "), "queue"),
        (lambda: Task("x", unique=timedelta(milliseconds=999)), "less than 1s"),
        (lambda: Task("x", unique=0), "less than 1s"),
        (lambda: Task("x", timeout=-1), "negative"),
        (lambda: Task("x", timeout=timedelta(seconds=-1)), "negative"),
        (lambda: Task("x", retention=-5), "negative"),
        (lambda: Task("x", process_in=timedelta(seconds=-1)), "negative"),
        (lambda: Task("x", timeout=float("nan")), "finite"),
        (lambda: Task("x", timeout="10"), "timedelta"),  # type: ignore[arg-type]
        (lambda: Task("x", max_retry=True), "max_retry"),
        (lambda: Task("x", max_retry=2.5), "max_retry"),  # type: ignore[arg-type]
        (lambda: Task("x", max_retry=2**31), "max_retry"),
        (lambda: Task("x", task_id=""), "task_id"),
        (lambda: Task("x", group=" "), "group"),
        (lambda: Task("x", headers={"a": 1}), "headers"),  # type: ignore[dict-item]
        (lambda: Task("x", headers=[("a", "b")]), "headers"),  # type: ignore[arg-type]
        (lambda: Task("x", deadline=datetime(2026, 11, 25)), "timezone-aware"),
        (lambda: Task("x", process_at=datetime(2026, 11, 25)), "timezone-aware"),
        (lambda: Task("x", process_at="tomorrow"), "process_at"),  # type: ignore[arg-type]
        (lambda: Task("x", process_in=1, process_at=NOW), "not both"),
    ],
)
def test_bad_task_input_is_an_invalid_argument(build, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        build()


@pytest.mark.parametrize(
    "options",
    [
        {"queue": ""},
        {"unique": 0.5},
        {"timeout": -1},
        {"retention": timedelta(days=-1)},
        {"headers": {"k": b"v"}},
        {"process_in": 1, "process_at": NOW + 10},
    ],
)
def test_bad_enqueue_options_are_an_invalid_argument(options):
    with pytest.raises(InvalidArgumentError):
        plan(Task("x"), **options)


# ------------------------------------------------------------------------- against Redis


@pytest.fixture
def client(redis_url):
    with Client(redis_url, clock=FrozenClock(NOW)) as c:
        yield c


def test_enqueue_returns_the_tasks_info(client):
    info = client.enqueue(
        Task("email:send", b'{"to": "a@example.com"}'),
        queue="critical",
        max_retry=5,
        timeout=timedelta(minutes=2),
        deadline=None,
        process_in=timedelta(seconds=30),
        process_at=None,
        unique=timedelta(hours=1),
        task_id=None,
        retention=timedelta(hours=1),
        group=None,
        headers={"trace": "abc"},
    )
    assert isinstance(info, TaskInfo)
    assert (info.queue, info.type, info.payload) == (
        "critical",
        "email:send",
        b'{"to": "a@example.com"}',
    )
    assert (info.state, info.max_retry, info.retried) == (TaskState.SCHEDULED, 5, 0)
    assert (info.timeout, info.retention, info.deadline) == (
        timedelta(minutes=2),
        timedelta(hours=1),
        None,
    )
    assert info.next_process_at == NOW_DT + timedelta(seconds=30)
    assert dict(info.headers) == {"trace": "abc"}
    assert uuid.UUID(info.id).version == 4


@pytest.mark.parametrize(
    ("options", "state", "next_process_at"),
    [
        ({}, TaskState.PENDING, NOW_DT),
        ({"process_in": 60}, TaskState.SCHEDULED, NOW_DT + timedelta(seconds=60)),
        ({"group": "g"}, TaskState.AGGREGATING, None),
    ],
)
def test_enqueue_reports_the_state_and_next_process_time_as_asynq(
    client, options, state, next_process_at
):
    info = client.enqueue(Task("x"), **options)
    assert (info.state, info.next_process_at) == (state, next_process_at)


def test_invalid_enqueue_input_writes_nothing(client, redis_client):
    for options in ({"queue": " "}, {"unique": 0}, {"timeout": -1}, {"headers": {"a": None}}):
        with pytest.raises(InvalidArgumentError):
            client.enqueue(Task("x"), **options)
    with pytest.raises(InvalidArgumentError):
        client.enqueue("not a task")  # type: ignore[arg-type]
    assert redis_client.dbsize() == 0


def test_a_client_accepts_redis_settings(redis_server, redis_client):
    with Client(RedisSettings.from_url(redis_server.url)) as c:
        c.enqueue(Task("x"))
    assert redis_client.llen("asynq:{default}:pending") == 1


def test_a_client_accepts_a_redis_py_client_and_leaves_it_open(redis_server, redis_client):
    mine = redis.Redis(port=redis_server.port)
    with Client(mine) as c:
        c.enqueue(Task("x"))
    assert mine.ping()  # still usable: the Client did not own it
    assert redis_client.llen("asynq:{default}:pending") == 1
    mine.close()


def test_a_client_refuses_something_that_is_not_a_connection():
    with pytest.raises(TypeError):
        Client(42)


def test_close_releases_the_connections_the_client_opened(redis_url):
    c = Client.from_url(redis_url)
    c.enqueue(Task("x"))
    c.close()
    c.close()  # twice is fine


# ------------------------------------------------------------------------ the returned info


@pytest.mark.parametrize(
    ("task", "options"),
    [
        (Task("a"), {}),
        (Task("a", b"p", queue="q", max_retry=-3, retention=90.7), {}),
        (Task("a", b"p"), {"timeout": 12.9, "deadline": NOW + 60, "headers": {"k": "v"}}),
        (Task("a", b"p"), {"deadline": datetime(1960, 1, 1, tzinfo=UTC)}),
        (Task("a", b"p"), {"group": "g", "unique": 30}),
        (Task("a", b"p", process_in=5, group="g", unique=10), {"task_id": "mine"}),
        (Task("a", b""), {"process_at": NOW - 1, "timeout": 0.5}),
    ],
)
def test_the_planned_info_is_what_reading_the_stored_message_gives(task, options):
    p = plan(task, **options)
    expected = TaskInfo.from_message(
        decode_task_message(p.write.message), p.info.state, next_process_at=p.info.next_process_at
    )
    assert p.info == expected
    assert vars(p.info).keys() == vars(expected).keys()


def test_generated_task_ids_are_random_uuid4_strings():
    ids = {plan(Task("a")).write.task_id for _ in range(200)}
    assert len(ids) == 200
    for task_id in ids:
        parsed = uuid.UUID(task_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, task_id)
