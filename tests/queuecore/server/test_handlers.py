"""ServeMux matching, the decorator, and the task object handlers receive."""

from __future__ import annotations

import pytest

from queuecore import keys
from queuecore.errors import InvalidArgumentError
from queuecore.handlers import (
    HandlerTask,
    ServeMux,
    SkipRetry,
    default_mux,
    error_text,
    handler,
)
from queuecore.rdb.worker import WorkerStore
from tests.support.factories import make_message, seed_task


def noop(task):
    return None


def other(task):
    return None


def test_exact_match_wins_over_a_prefix():
    mux = ServeMux()
    mux.register("email:", noop)
    mux.register("email:send", other)
    assert mux.match("email:send").fn is other
    assert mux.match("email:digest").fn is noop


def test_the_longest_matching_prefix_wins():
    mux = ServeMux()
    mux.register("image", noop)
    mux.register("image:resize", other)
    assert mux.match("image:resize:large").fn is other
    assert mux.match("imagery").fn is noop
    assert mux.match("video") is None
    assert "image:x" in mux
    assert "video" not in mux


def test_registering_another_function_for_a_pattern_is_refused():
    mux = ServeMux()
    mux.register("a", noop)
    mux.register("a", noop)  # the same function again (a re-imported module) is harmless
    with pytest.raises(InvalidArgumentError):
        mux.register("a", other)
    with pytest.raises(InvalidArgumentError):
        mux.register("  ", noop)


def test_the_decorator_registers_on_the_default_mux():
    @handler("test:decorated")
    def decorated(task):
        return None

    try:
        assert default_mux.match("test:decorated").fn is decorated
    finally:
        default_mux.unregister("test:decorated")


def test_async_handlers_are_recognised():
    mux = ServeMux()

    async def coro(task):
        return None

    mux.register("a", coro)
    mux.register("b", noop)
    assert mux.match("a").is_async
    assert not mux.match("b").is_async


def test_handler_task_exposes_the_message_fields():
    msg = make_message(
        type="t", payload=b"\x00p", queue="q", retry=3, retried=1, headers={"k": "v"}
    )
    task = HandlerTask(msg, 1000.5, None)
    assert (task.id, task.type, task.payload, task.queue) == (msg.id, "t", b"\x00p", "q")
    assert (task.retried, task.max_retry, dict(task.headers)) == (1, 3, {"k": "v"})
    assert task.deadline.timestamp() == 1000.5
    assert not task.is_cancelled()


def test_write_result_hsets_the_result_field(redis_client, redis_url):
    msg = seed_task(redis_client, "active")
    task = HandlerTask(msg, 0, WorkerStore.from_url(redis_url))
    assert task.write_result(b"\x01out") == 4
    assert redis_client.hget(keys.task_key("default", msg.id), "result") == b"\x01out"
    with pytest.raises(InvalidArgumentError):
        task.write_result("text")  # type: ignore[arg-type]


def test_error_text_is_the_exception_text_or_its_class_name():
    assert error_text(RuntimeError("boom")) == "boom"
    assert error_text(KeyError()) == "KeyError"
    assert error_text(SkipRetry()) == "skip retry for the task"
    try:
        raise SystemExit(3)
    except SystemExit as exc:
        text = error_text(exc)
    assert text.startswith("panic error cause by: panic [")
    assert text.endswith("]: SystemExit(3)")
