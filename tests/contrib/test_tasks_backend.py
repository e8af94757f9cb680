"""The django.tasks backend: @task .enqueue() onto asynq queues, a worker runs it, results back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import redis
from django.core.management import call_command
from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started

from queuecore.client import Client, Task
from queuecore.clock import FrozenClock
from queuecore.contrib.django.tasks_backend import (
    TASK_TYPE,
    QueuecoreBackend,
    queue_for,
    run_django_task,
)
from queuecore.handlers import ServeMux
from queuecore.inspector import Inspector
from queuecore.server import Server
from tests.contrib import sample_tasks

QUEUES = {"critical": 6, "default": 3, "low": 1}


@pytest.fixture
def backend(settings: object, queuecore_settings: str) -> QueuecoreBackend:
    settings.TASKS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
            "QUEUES": ["critical", "default", "low"],
            "OPTIONS": {"REDIS_URL": queuecore_settings},
        }
    }
    found = task_backends["default"]
    assert isinstance(found, QueuecoreBackend)
    return found


@pytest.fixture
def inspector(queuecore_settings: str) -> Iterator[Inspector]:
    insp = Inspector.from_url(queuecore_settings)
    yield insp
    insp.close()


def work_off(url: str, **options: Any) -> None:
    """A real worker server with the django.tasks handler, until the queues are empty."""
    mux = ServeMux()
    mux.register(TASK_TYPE, run_django_task)
    server = Server.from_url(
        url, queues=QUEUES, concurrency=2, mux=mux, shutdown_timeout=2, **options
    )
    server.start(burst=True)
    assert server.wait(timeout=60)


@pytest.fixture
def signals() -> Iterator[list[tuple[str, Any, Any]]]:
    seen: list[tuple[str, Any, Any]] = []

    def receiver(name: str) -> Any:
        def receive(sender: Any, task_result: Any, **kwargs: Any) -> None:
            seen.append((name, sender, task_result.status))

        return receive

    receivers = {
        "enqueued": (task_enqueued, receiver("enqueued")),
        "started": (task_started, receiver("started")),
        "finished": (task_finished, receiver("finished")),
    }
    for signal, fn in receivers.values():
        signal.connect(fn)
    yield seen
    for signal, fn in receivers.values():
        signal.disconnect(fn)


@pytest.mark.parametrize(
    ("priority", "queue_name", "expected"),
    [
        (0, "default", "default"),
        (49, "default", "default"),
        (50, "default", "critical"),
        (100, "low", "critical"),
        (-50, "default", "low"),
        (-100, "critical", "low"),
        (-49, "critical", "critical"),
    ],
)
def test_priority_picks_the_queue_by_threshold(
    priority: int, queue_name: str, expected: str
) -> None:
    assert queue_for(priority, queue_name, {"critical": 50, "low": -50}) == expected


def test_priority_mapping_can_be_turned_off() -> None:
    assert queue_for(100, "default", {}) == "default"


def test_the_most_extreme_matching_threshold_wins() -> None:
    mapping = {"high": 20, "critical": 80, "low": -30}
    assert queue_for(90, "default", mapping) == "critical"
    assert queue_for(30, "default", mapping) == "high"


def test_creating_the_backend_connects_to_nothing(settings: object) -> None:
    settings.TASKS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
            "OPTIONS": {"REDIS_URL": "redis://127.0.0.1:1/0"},
        }
    }
    backend = task_backends["default"]
    assert isinstance(backend, QueuecoreBackend)
    assert backend.check() == []


def test_check_warns_about_unknown_options_and_unserved_queues(settings: object) -> None:
    backend = QueuecoreBackend("extra", {"QUEUES": ["default", "bulk"], "OPTIONS": {"RETRIES": 3}})
    ids = sorted(message.id for message in backend.check())
    assert ids == ["queuecore.W101", "queuecore.W102"]


@pytest.mark.django_db
def test_enqueue_puts_one_django_tasks_task_on_the_queue(
    backend: QueuecoreBackend,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.add.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at is not None
    info = inspector.get_task_info("default", result.id)
    assert info.type == TASK_TYPE
    assert info.state == "pending"
    assert info.max_retry == 0
    assert info.retention == timedelta(days=1)
    payload = json.loads(info.payload)
    assert payload["task_path"] == "tests.contrib.sample_tasks.add"
    assert (payload["args"], payload["kwargs"], payload["backend"]) == ([2, 3], {}, "default")
    assert signals == [("enqueued", QueuecoreBackend, TaskResultStatus.READY)]
    assert backend.get_result(result.id).status == TaskResultStatus.READY


@pytest.mark.django_db
def test_priority_and_queue_name_choose_the_asynq_queue(
    backend: QueuecoreBackend, inspector: Inspector
) -> None:
    urgent = sample_tasks.add.using(priority=80).enqueue(1, 1)
    lazy = sample_tasks.add.using(priority=-80).enqueue(1, 1)
    report = sample_tasks.slow_report.enqueue("churn")
    assert inspector.get_task_info("critical", urgent.id).type == TASK_TYPE
    assert inspector.get_task_info("low", lazy.id).type == TASK_TYPE
    assert inspector.get_task_info("low", report.id).type == TASK_TYPE
    # Read back with the task's own priority and queue_name, not the asynq queue.
    again = backend.get_result(urgent.id)
    assert (again.task.priority, again.task.queue_name) == (80, "default")


@pytest.mark.django_db
def test_run_after_schedules_the_task(backend: QueuecoreBackend, inspector: Inspector) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    result = sample_tasks.add.using(run_after=when).enqueue(1, 2)
    info = inspector.get_task_info("default", result.id)
    assert info.state == "scheduled"
    assert info.next_process_at == when
    assert backend.get_result(result.id).status == TaskResultStatus.READY


@pytest.mark.django_db
def test_arguments_that_are_not_json_are_refused_and_nothing_is_written(
    backend: QueuecoreBackend, redis_client: redis.Redis
) -> None:
    with pytest.raises(TypeError):
        sample_tasks.add.enqueue(datetime.now(UTC), 1)
    assert redis_client.keys("asynq:{default}:*") == []


@pytest.mark.django_db
def test_a_worker_runs_the_task_and_the_result_is_read_back(
    backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.add.enqueue(20, 22)
    work_off(queuecore_settings)
    assert inspector.get_task_info("default", result.id).state == "completed"
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert result.is_finished
    assert result.started_at is not None
    assert result.finished_at is not None
    assert result.finished_at >= result.started_at
    assert result.attempts == 1
    assert [name for name, _, _ in signals] == ["enqueued", "started", "finished"]
    assert all(sender is QueuecoreBackend for _, sender, _ in signals)
    assert signals[-1][2] == TaskResultStatus.SUCCESSFUL
    assert sample_tasks.add.get_result(result.id).return_value == 42


@pytest.mark.django_db
def test_a_failing_task_is_failed_with_its_exception(
    backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.explode.enqueue("disk full")
    work_off(queuecore_settings)
    info = inspector.get_task_info("default", result.id)
    assert info.state == "archived"
    assert info.last_err == "disk full"
    failed = backend.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in failed.errors] == ["builtins.ValueError"]
    assert "disk full" in failed.errors[0].traceback
    with pytest.raises(ValueError, match="Task failed"):
        _ = failed.return_value
    assert signals[-1] == ("finished", QueuecoreBackend, TaskResultStatus.FAILED)


@pytest.mark.django_db
def test_a_context_task_gets_its_own_result_and_attempt(
    backend: QueuecoreBackend, queuecore_settings: str
) -> None:
    result = sample_tasks.whoami.enqueue()
    work_off(queuecore_settings)
    result.refresh()
    assert result.return_value == {"id": result.id, "attempt": 1}


@pytest.mark.django_db
def test_an_async_task_runs_too(backend: QueuecoreBackend, queuecore_settings: str) -> None:
    result = sample_tasks.add_async.enqueue(1, 2)
    work_off(queuecore_settings)
    result.refresh()
    assert result.return_value == 3


@pytest.mark.django_db
def test_a_return_value_that_is_not_json_fails_the_task(
    backend: QueuecoreBackend, queuecore_settings: str
) -> None:
    result = sample_tasks.unserializable.enqueue()
    work_off(queuecore_settings)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "builtins.TypeError"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "task_path",
    [
        "tests.contrib.sample_tasks.not_a_task",
        "os.getcwd",
        "no.such.module.fn",
    ],
)
def test_the_worker_refuses_anything_that_is_not_a_registered_task(
    backend: QueuecoreBackend, queuecore_settings: str, inspector: Inspector, task_path: str
) -> None:
    payload = {"task_path": task_path, "args": [], "kwargs": {}, "backend": "default"}
    client = Client.from_url(queuecore_settings)
    info = client.enqueue(Task(TASK_TYPE, json.dumps(payload).encode()), max_retry=5)
    work_off(queuecore_settings)
    stored = inspector.get_task_info("default", info.id)
    # Archived at once (no retries), unrun.
    assert stored.state == "archived"
    assert stored.retried == 0
    assert stored.last_err.startswith("refused:")


@pytest.mark.django_db
def test_the_worker_refuses_a_payload_that_is_not_the_backends(
    backend: QueuecoreBackend, queuecore_settings: str, inspector: Inspector
) -> None:
    client = Client.from_url(queuecore_settings)
    info = client.enqueue(Task(TASK_TYPE, b"\x00not json"), max_retry=5)
    work_off(queuecore_settings)
    assert inspector.get_task_info("default", info.id).state == "archived"


@pytest.mark.django_db
def test_get_result_of_an_unknown_id_raises_does_not_exist(backend: QueuecoreBackend) -> None:
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result("no-such-id")


@pytest.mark.django_db
def test_get_result_ignores_tasks_that_are_not_django_tasks(
    backend: QueuecoreBackend, queuecore_settings: str
) -> None:
    info = Client.from_url(queuecore_settings).enqueue(Task("email:send", b"{}"))
    with pytest.raises(TaskResultDoesNotExist):
        backend.get_result(info.id)


@pytest.mark.django_db
def test_runworker_discovers_the_handler_runs_the_task_and_the_result_reads_back(
    backend: QueuecoreBackend, queuecore_settings: str
) -> None:
    result = sample_tasks.slow_report.enqueue("churn")
    out = StringIO()
    call_command("runworker", "--burst", "--redis-url", queuecore_settings, stdout=out)
    assert "django.tasks" in out.getvalue()
    assert "queuecore.contrib.django.queuecore.tasks" in out.getvalue()
    done = sample_tasks.slow_report.get_result(result.id)
    assert done.status == TaskResultStatus.SUCCESSFUL
    assert done.return_value == {"report": "churn", "rows": 3}


# -- retries: task_finished only for a final status ---------------------------------------------

# A retry due in an hour: a burst run leaves the task waiting in asynq's retry state.
LATER = {"retry_delay": lambda retried, error, task: 3600}


@pytest.fixture
def retrying_backend(settings: object, queuecore_settings: str) -> QueuecoreBackend:
    settings.TASKS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
            "QUEUES": ["critical", "default", "low"],
            "OPTIONS": {"REDIS_URL": queuecore_settings, "MAX_RETRY": 2},
        }
    }
    found = task_backends["default"]
    assert isinstance(found, QueuecoreBackend)
    return found


@pytest.mark.django_db
def test_a_failed_attempt_that_will_be_retried_is_ready_again_and_not_finished(
    retrying_backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.explode.enqueue("disk full")
    work_off(queuecore_settings, **LATER)
    info = inspector.get_task_info("default", result.id)
    assert (info.state, info.retried) == ("retry", 1)
    assert [name for name, _, _ in signals] == ["enqueued", "started"]
    pending = retrying_backend.get_result(result.id)
    # Django's READY: "ready to be executed again".
    assert pending.status == TaskResultStatus.READY
    assert not pending.is_finished
    assert pending.finished_at is None
    assert pending.last_attempted_at is not None
    assert [e.exception_class_path for e in pending.errors] == ["builtins.ValueError"]
    assert json.loads(info.result)["status"] == "READY"


@pytest.mark.django_db
def test_task_finished_fires_once_when_the_last_retry_fails(
    retrying_backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.explode.enqueue("disk full")
    work_off(queuecore_settings, **LATER)
    for _ in range(2):  # the two retries MAX_RETRY allows, each made due at once
        inspector.run_task("default", result.id)
        work_off(queuecore_settings, **LATER)
    assert inspector.get_task_info("default", result.id).state == "archived"
    names = [name for name, _, _ in signals]
    assert names == ["enqueued", "started", "started", "started", "finished"]
    assert signals[-1][2] == TaskResultStatus.FAILED
    failed = retrying_backend.get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert failed.is_finished
    assert failed.finished_at is not None
    assert failed.attempts == 3


@pytest.mark.django_db
def test_a_task_that_succeeds_on_its_retry_finishes_once_successful(
    retrying_backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    result = sample_tasks.fails_on_first_attempt.enqueue()
    work_off(queuecore_settings, **LATER)
    assert retrying_backend.get_result(result.id).status == TaskResultStatus.READY
    inspector.run_task("default", result.id)
    work_off(queuecore_settings, **LATER)
    names = [name for name, _, _ in signals]
    assert names == ["enqueued", "started", "started", "finished"]
    assert signals[-1][2] == TaskResultStatus.SUCCESSFUL
    done = retrying_backend.get_result(result.id)
    assert (done.status, done.return_value, done.attempts) == (TaskResultStatus.SUCCESSFUL, 2, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("task_name", "state"), [("gives_up", "archived"), ("revokes", None)], ids=["skip", "revoke"]
)
def test_a_failure_that_skips_the_retries_left_finishes_at_once(
    retrying_backend: QueuecoreBackend,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
    task_name: str,
    state: str | None,
) -> None:
    result = getattr(sample_tasks, task_name).enqueue("no point")
    work_off(queuecore_settings, **LATER)
    assert signals[-1] == ("finished", QueuecoreBackend, TaskResultStatus.FAILED)
    assert [name for name, _, _ in signals].count("finished") == 1
    if state is None:  # RevokeTask: asynq deletes the task, so no result is left to read
        with pytest.raises(TaskResultDoesNotExist):
            retrying_backend.get_result(result.id)
    else:
        assert inspector.get_task_info("default", result.id).state == state
        assert retrying_backend.get_result(result.id).status == TaskResultStatus.FAILED


def poll_until(check: Any, what: str) -> None:
    """Poll a condition another thread brings about (the worker's), failing after 10 s."""
    pause = threading.Event()
    for _ in range(1000):
        if check():
            return
        pause.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db
def test_an_attempt_that_returns_after_its_deadline_is_the_failure_the_worker_recorded(
    settings: object,
    queuecore_settings: str,
    inspector: Inspector,
    signals: list[tuple[str, Any, Any]],
) -> None:
    settings.TASKS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
            "QUEUES": ["critical", "default", "low"],
            "OPTIONS": {"REDIS_URL": queuecore_settings, "TIMEOUT": 10},
        }
    }
    sample_tasks.entered.clear()
    sample_tasks.release.clear()
    result = sample_tasks.waits_for_release.enqueue()
    clock = FrozenClock(time.time())
    mux = ServeMux()
    mux.register(TASK_TYPE, run_django_task)
    server = Server.from_url(
        queuecore_settings, queues=QUEUES, concurrency=1, mux=mux, clock=clock, shutdown_timeout=2
    )
    server.start()
    try:
        assert sample_tasks.entered.wait(30)
        clock.advance(11)  # past the 10 s TIMEOUT, inside the 30 s lease
        server.processor.check_deadlines()
        poll_until(
            lambda: inspector.get_task_info("default", result.id).state == "archived",
            "the worker to archive the task",
        )
        sample_tasks.release.set()  # the task now returns, too late
        poll_until(lambda: signals[-1][0] == "finished", "the late attempt to end")
    finally:
        sample_tasks.release.set()
        server.shutdown(10)
    assert [name for name, _, _ in signals] == ["enqueued", "started", "finished"]
    assert signals[-1][2] == TaskResultStatus.FAILED
    failed = task_backends["default"].get_result(result.id)
    assert failed.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in failed.errors] == [
        "queuecore.handlers.DeadlineExceededError"
    ]
