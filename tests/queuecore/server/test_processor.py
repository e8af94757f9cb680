"""Every path of a task through the worker (spec §4.2), run by a real Server in burst mode."""

from __future__ import annotations

import asyncio
import threading
import time

from queuecore import keys
from queuecore.clock import FrozenClock
from queuecore.handlers import HandlerTask, RevokeTask, ServeMux, SkipRetry
from queuecore.messages import decode_task_message
from queuecore.server import Server, ServerConfig
from queuecore.server.processor import Processor
from tests.support.factories import seed_task

NEVER = 3600.0  # a retry delay that keeps retried tasks out of a burst run


def stored(redis_client, msg, queue="default"):
    fields = redis_client.hgetall(keys.task_key(queue, msg.id))
    return fields.get(b"state"), decode_task_message(fields[b"msg"]) if fields else None


def retry_never(n, error, task):
    return NEVER


def test_success_deletes_the_task_and_counts_it(burst, redis_client):
    mux = ServeMux()
    seen = []
    mux.register("email:send", lambda task: seen.append(task.payload))
    msgs = [seed_task(redis_client, "pending") for _ in range(25)]
    burst(mux)
    assert sorted(seen) == sorted(bytes(m.payload) for m in msgs)
    assert redis_client.keys("asynq:{default}:t:*") == []
    assert redis_client.get(keys.processed_total_key("default")) == b"25"
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))


def test_success_with_retention_keeps_the_task_completed_with_its_result(burst, redis_client):
    mux = ServeMux()
    mux.register("email:send", lambda task: task.write_result(b"sent"))
    msg = seed_task(redis_client, "pending", retention=600)
    burst(mux)
    state, _ = stored(redis_client, msg)
    assert state == b"completed"
    assert redis_client.hget(keys.task_key("default", msg.id), "result") == b"sent"


def test_a_failure_is_retried_with_the_error_text(burst, redis_client):
    mux = ServeMux()

    def fail(task):
        raise RuntimeError("smtp down")

    mux.register("email:send", fail)
    msg = seed_task(redis_client, "pending")
    before = time.time()
    burst(mux)
    state, message = stored(redis_client, msg)
    assert state == b"retry"
    assert (message.retried, message.error_msg) == (1, "smtp down")
    score = redis_client.zscore(keys.retry_key("default"), msg.id)
    # asynq's default delay for retried=0: 15 + k s, k in [0, 30).
    assert int(before) + 15 <= score <= time.time() + 45


def test_a_configured_retry_delay_and_is_failure_are_used(burst, redis_client):
    mux = ServeMux()

    def fail(task):
        raise TimeoutError("later")

    mux.register("email:send", fail)
    msg = seed_task(redis_client, "pending", retried=2)
    calls = []

    def delay(n, error, task):
        calls.append((n, str(error), task.id))
        return 1000

    burst(mux, retry_delay=delay, is_failure=lambda error: False)
    assert calls == [(2, "later", msg.id)]
    state, message = stored(redis_client, msg)
    assert (state, message.retried) == (b"retry", 2)  # not a failure: retried unchanged
    assert redis_client.get(keys.failed_total_key("default")) is None


def test_skip_retry_archives_at_once(burst, redis_client):
    mux = ServeMux()

    def bad(task):
        raise SkipRetry("bad address")

    mux.register("email:send", bad)
    msg = seed_task(redis_client, "pending")
    burst(mux)
    state, message = stored(redis_client, msg)
    assert (state, message.retried, message.error_msg) == (b"archived", 0, "bad address")


def test_exhausted_retries_archive_the_task(burst, redis_client):
    mux = ServeMux()

    def fail(task):
        raise ValueError("still broken")

    mux.register("email:send", fail)
    msg = seed_task(redis_client, "pending", retry=3, retried=3)
    burst(mux)
    state, message = stored(redis_client, msg)
    assert (state, message.retried, message.error_msg) == (b"archived", 3, "still broken")


def test_revoke_task_ends_the_task_as_done_and_frees_its_unique_lock(burst, redis_client):
    mux = ServeMux()

    def revoke(task):
        raise RevokeTask()

    mux.register("email:send", revoke)
    lock = "asynq:{default}:unique:email:send:abc"
    msg = seed_task(redis_client, "pending", unique_key=lock)
    redis_client.set(lock, msg.id)
    burst(mux, retry_delay=retry_never)
    assert not redis_client.exists(keys.task_key("default", msg.id), lock)
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.get(keys.failed_total_key("default")) is None


def test_a_missing_handler_fails_with_asynqs_text(burst, redis_client):
    msg = seed_task(redis_client, "pending", type="nobody:handles")
    burst(ServeMux(), retry_delay=retry_never)
    state, message = stored(redis_client, msg)
    assert state == b"retry"
    assert message.error_msg == 'handler not found for task "nobody:handles"'


def test_async_handlers_run_and_fail_like_plain_ones(burst, redis_client):
    mux = ServeMux()
    seen = []

    async def ok(task):
        await asyncio.sleep(0)
        seen.append(task.id)

    async def fail(task):
        raise RuntimeError("async boom")

    mux.register("ok", ok)
    mux.register("fail", fail)
    good = [seed_task(redis_client, "pending", type="ok") for _ in range(5)]
    bad = seed_task(redis_client, "pending", type="fail")
    burst(mux, retry_delay=retry_never)
    assert sorted(seen) == sorted(m.id for m in good)
    assert stored(redis_client, bad)[1].error_msg == "async boom"


def test_a_task_past_its_timeout_fails_with_context_deadline_exceeded(burst, redis_client):
    mux = ServeMux()
    release = threading.Event()

    def stuck(task):
        task.cancel_event.wait(30)
        release.set()

    async def stuck_async(task):
        await asyncio.sleep(30)

    mux.register("stuck", stuck)
    mux.register("stuck:async", stuck_async)
    plain = seed_task(redis_client, "pending", type="stuck", timeout=1)
    coro = seed_task(redis_client, "pending", type="stuck:async", timeout=1)
    burst(mux, retry_delay=retry_never)
    assert release.wait(5)  # the plain handler was told through its cancel event
    for msg in (plain, coro):
        state, message = stored(redis_client, msg)
        assert (state, message.error_msg) == (b"retry", "context deadline exceeded")


def test_a_handler_ignoring_cancellation_does_not_hold_its_slot(burst, redis_client):
    mux = ServeMux()
    done = []
    hold = threading.Event()

    def ignores(task):
        hold.wait(30)

    mux.register("ignores", ignores)
    mux.register("quick", lambda task: done.append(task.id))
    seed_task(redis_client, "pending", type="ignores", timeout=1)
    quick = [seed_task(redis_client, "pending", type="quick") for _ in range(3)]
    try:
        burst(mux, concurrency=1, retry_delay=retry_never)
    finally:
        hold.set()
    assert sorted(done) == sorted(m.id for m in quick)


def test_the_error_handler_sees_every_failure(burst, redis_client):
    mux = ServeMux()

    def fail(task):
        raise RuntimeError("boom")

    mux.register("email:send", fail)
    msg = seed_task(redis_client, "pending")
    seen = []
    burst(
        mux,
        retry_delay=retry_never,
        error_handler=lambda task, exc: seen.append((task.id, str(exc))),
    )
    assert seen == [(msg.id, "boom")]


def test_strict_priority_serves_higher_queues_first(burst, redis_client):
    mux = ServeMux()
    order = []
    mux.register("email:send", lambda task: order.append(task.queue))
    for queue in ("low", "critical", "default"):
        for _ in range(3):
            seed_task(redis_client, "pending", queue=queue)
    burst(
        mux,
        queues={"critical": 6, "default": 3, "low": 1},
        strict=True,
        concurrency=1,
    )
    assert order == ["critical"] * 3 + ["default"] * 3 + ["low"] * 3


def test_burst_forwards_due_retries_before_deciding_the_queues_are_empty(burst, redis_client):
    mux = ServeMux()
    seen = []
    mux.register("email:send", lambda task: seen.append(task.id))
    msg = seed_task(redis_client, "retry", score=int(time.time()) - 5)
    burst(mux)
    assert seen == [msg.id]


def test_shutdown_requeues_what_did_not_finish_in_time(redis_url, redis_client):
    mux = ServeMux()
    started = threading.Event()

    def slow(task):
        started.set()
        task.cancel_event.wait(30)

    mux.register("email:send", slow)
    first = seed_task(redis_client, "pending")
    second = seed_task(redis_client, "pending")
    server = Server.from_url(redis_url, mux=mux, concurrency=1, shutdown_timeout=0.2)
    server.start()
    assert started.wait(10)
    server.stop()
    assert server.wait(10)
    # The running task went back to the right end: next out, before the untouched one.
    assert redis_client.lrange(keys.pending_key("default"), 0, -1) == [
        second.id.encode(),
        first.id.encode(),
    ]
    assert stored(redis_client, first)[0] == b"pending"
    assert redis_client.keys("asynq:{default}:processed*") == []
    assert not redis_client.exists(keys.active_key("default"), keys.lease_key("default"))


def test_shutdown_lets_in_flight_tasks_finish_within_the_timeout(redis_url, redis_client):
    mux = ServeMux()
    started = threading.Event()
    finish = threading.Event()

    def slow(task):
        started.set()
        finish.wait(30)

    mux.register("email:send", slow)
    seed_task(redis_client, "pending")
    server = Server.from_url(redis_url, mux=mux, concurrency=1, shutdown_timeout=30)
    server.start()
    assert started.wait(10)
    server.stop()
    finish.set()
    assert server.wait(10)
    assert redis_client.get(keys.processed_total_key("default")) == b"1"
    assert redis_client.keys("asynq:{default}:t:*") == []


def test_a_task_whose_local_lease_expired_is_left_untouched(store, redis_client):
    clock = FrozenClock(time.time())
    release = threading.Event()
    mux = ServeMux()
    mux.register("email:send", lambda task: release.wait(30))
    msg = seed_task(redis_client, "pending", now=clock.now())
    processor = Processor(store, mux, ServerConfig(concurrency=1), clock)
    processor.start()
    try:
        for _ in range(300):
            if processor.snapshot():
                break
            release.wait(0.01)
        clock.advance(31)  # no heartbeat extended the lease
        assert processor.check_deadlines() == 1
        for _ in range(300):
            if not processor.snapshot():
                break
            release.wait(0.01)
        assert processor.snapshot() == []
    finally:
        release.set()
        processor.stop(0)
        processor.wait(10)
        processor.close()
    # Nothing written: still active with its old lease, for the recoverer.
    assert stored(redis_client, msg)[0] == b"active"
    assert redis_client.zscore(keys.lease_key("default"), msg.id) is not None
    assert redis_client.keys("asynq:{default}:processed*") == []


def test_handlers_receive_the_task_fields(burst, redis_client):
    mux = ServeMux()
    got: list[HandlerTask] = []
    mux.register("email:send", got.append)
    msg = seed_task(
        redis_client, "pending", queue="q", retry=7, retried=2, headers={"trace": "abc"}
    )
    burst(mux, queues={"q": 1})
    (task,) = got
    assert (task.id, task.type, task.payload, task.queue) == (
        msg.id,
        msg.type,
        bytes(msg.payload),
        "q",
    )
    assert (task.retried, task.max_retry, dict(task.headers)) == (2, 7, {"trace": "abc"})
