"""A ``django.tasks`` backend on asynq's queues, and the worker side that runs its tasks.

Settings::

    TASKS = {
        "default": {
            "BACKEND": "queuecore.contrib.django.tasks_backend.QueuecoreBackend",
            "QUEUES": ["critical", "default", "low"],
            "OPTIONS": {
                "REDIS_URL": None,        # default: QUEUECORE["REDIS_URL"]
                "MAX_RETRY": 0,           # a task that raises is FAILED at once (Django's meaning)
                "TIMEOUT": 1800,          # seconds a run may take
                "RETENTION": 86400,       # seconds results stay readable after success
                "PRIORITY_QUEUES": {"critical": 50, "low": -50},
            },
        }
    }

``task.enqueue(...)`` puts one asynq task of type ``django.tasks`` on a queue; its payload is JSON
(``task_path``, ``args``, ``kwargs``, ``backend``, ``queue_name``, ``priority``, ``run_after``,
``enqueued_at``), so it shows in the dashboard like any other task. ``runworker`` runs it through
the handler registered here, which only runs objects that really are ``django.tasks.Task``
instances of this backend (anything else is archived unrun, never called blindly).

Priority → queue. asynq has no per-task priority; its queues carry weights. So a priority moves the
task to a queue: with the default ``PRIORITY_QUEUES`` a priority ≥ 50 goes to ``critical``, ≤ -50 to
``low``, and anything in between (Django's default 0 included) to the task's own ``queue_name``. A
positive threshold matches priorities at or above it, a negative one at or below it; the most
extreme match wins. ``{}`` turns the mapping off. ``run_after`` schedules the task (asynq's
``process_at``).

States → Django's four: pending, scheduled, retry and aggregating are READY; active is RUNNING;
completed is SUCCESSFUL; archived is FAILED. The return value and errors are what the worker
wrote with ``write_result``; ``RETENTION`` keeps a successful task (and its result) as completed.

Signals. The worker sends ``task_started`` for every attempt and ``task_finished`` only when the
result reaches a final status, as Django means it: success, or a failure asynq will not retry
(retries exhausted, ``SkipRetry``, ``RevokeTask``). A failed attempt that will be retried sends no
``task_finished``; its result reads back READY ("ready to be executed again") with that attempt's
error, no ``finished_at``, and ``last_attempted_at`` set. An attempt the worker gave up on (its
deadline passed, or ``asynq:cancel``) is that failure even when the task returns later; one
requeued at shutdown or whose lease ran out records nothing (the task runs again).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core import checks
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task_backends
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import TaskError
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import QueueCoreError, QueueNotFoundError, TaskNotFoundError
from queuecore.taskinfo import TaskState

if TYPE_CHECKING:
    from queuecore.handlers import HandlerTask
    from queuecore.taskinfo import TaskInfo

log = logging.getLogger(__name__)

# The asynq task type every django.tasks task is enqueued as.
TASK_TYPE = "django.tasks"
DEFAULT_PRIORITY_QUEUES: Mapping[str, int] = {"critical": 50, "low": -50}
DEFAULT_MAX_RETRY = 0
DEFAULT_TIMEOUT = timedelta(minutes=30)
DEFAULT_RETENTION = timedelta(days=1)
# Tracebacks past this are cut: a result lives in a Redis hash the dashboard renders.
MAX_TRACEBACK_CHARS = 20_000
KNOWN_OPTIONS = {"REDIS_URL", "MAX_RETRY", "TIMEOUT", "RETENTION", "PRIORITY_QUEUES"}

STATUS_BY_STATE: Mapping[TaskState, TaskResultStatus] = {
    TaskState.PENDING: TaskResultStatus.READY,
    TaskState.SCHEDULED: TaskResultStatus.READY,
    TaskState.RETRY: TaskResultStatus.READY,
    TaskState.AGGREGATING: TaskResultStatus.READY,
    TaskState.ACTIVE: TaskResultStatus.RUNNING,
    TaskState.COMPLETED: TaskResultStatus.SUCCESSFUL,
    TaskState.ARCHIVED: TaskResultStatus.FAILED,
}


def queue_for(priority: int, queue_name: str, priority_queues: Mapping[str, int]) -> str:
    """The asynq queue a task of ``priority`` goes to (pure; see the module docstring)."""
    best: tuple[int, str] | None = None
    for queue, threshold in priority_queues.items():
        if threshold > 0:
            matches = priority >= threshold
        else:
            matches = threshold < 0 and priority <= threshold
        if matches and (best is None or abs(threshold) > best[0]):
            best = (abs(threshold), queue)
    return best[1] if best else queue_name


def _seconds(value: Any, default: timedelta) -> timedelta:
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class Job:
    """The JSON payload of a ``django.tasks`` asynq task: all it takes to run and describe it."""

    task_path: str
    args: list[Any]
    kwargs: dict[str, Any]
    backend: str
    queue_name: str
    priority: int
    run_after: datetime | None
    enqueued_at: datetime | None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "task_path": self.task_path,
                "args": self.args,
                "kwargs": self.kwargs,
                "backend": self.backend,
                "queue_name": self.queue_name,
                "priority": self.priority,
                "run_after": _iso(self.run_after),
                "enqueued_at": _iso(self.enqueued_at),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, payload: bytes) -> Job:
        """Raises ValueError when the payload is not one this backend wrote."""
        data = json.loads(payload)
        if not isinstance(data, dict) or not isinstance(data.get("task_path"), str):
            raise ValueError("payload has no task_path")
        args, kwargs = data.get("args", []), data.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError("args must be a list and kwargs an object")
        return cls(
            task_path=data["task_path"],
            args=args,
            kwargs=kwargs,
            backend=str(data.get("backend") or "default"),
            queue_name=str(data.get("queue_name") or "default"),
            priority=int(data.get("priority") or 0),
            run_after=_datetime(data.get("run_after")),
            enqueued_at=_datetime(data.get("enqueued_at")),
        )


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What the worker writes as the asynq task's result: how the last run ended."""

    status: TaskResultStatus
    return_value: Any = None
    errors: tuple[TaskError, ...] = ()
    worker_ids: tuple[str, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "status": str(self.status),
                "return_value": self.return_value,
                "errors": [
                    {"exception_class_path": e.exception_class_path, "traceback": e.traceback}
                    for e in self.errors
                ],
                "worker_ids": list(self.worker_ids),
                "started_at": _iso(self.started_at),
                "finished_at": _iso(self.finished_at),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> Outcome | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(
                status=TaskResultStatus(data["status"]),
                return_value=data.get("return_value"),
                errors=tuple(
                    TaskError(
                        exception_class_path=str(e["exception_class_path"]),
                        traceback=str(e.get("traceback", "")),
                    )
                    for e in data.get("errors", [])
                ),
                worker_ids=tuple(str(w) for w in data.get("worker_ids", [])),
                started_at=_datetime(data.get("started_at")),
                finished_at=_datetime(data.get("finished_at")),
            )
        except (ValueError, KeyError, TypeError):
            return None


def resolve_task(task_path: str) -> Task[Any, Any]:
    """The registered ``django.tasks.Task`` at ``task_path``; ValueError for anything else."""
    try:
        found = import_string(task_path)
    except ImportError as exc:
        raise ValueError(f"cannot import {task_path!r}: {exc}") from exc
    if not isinstance(found, Task):
        raise ValueError(f"{task_path!r} is not a django.tasks Task (decorate it with @task)")
    return found


class QueuecoreBackend(BaseTaskBackend):
    """``django.tasks`` on asynq's Redis queues; ``manage.py runworker`` runs the tasks."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        # Built whenever a module with @task functions is imported: no Redis, no models here.
        super().__init__(alias, params)
        self.redis_url: str | None = self.options.get("REDIS_URL")
        self.max_retry = int(self.options.get("MAX_RETRY", DEFAULT_MAX_RETRY))
        self.timeout = _seconds(self.options.get("TIMEOUT"), DEFAULT_TIMEOUT)
        self.retention = _seconds(self.options.get("RETENTION"), DEFAULT_RETENTION)
        self.priority_queues: Mapping[str, int] = self.options.get(
            "PRIORITY_QUEUES", DEFAULT_PRIORITY_QUEUES
        )

    def _url(self) -> str:
        return self.redis_url or str(queuecore_setting("REDIS_URL"))

    def asynq_queue(self, task: Task[Any, Any]) -> str:
        return queue_for(task.priority, task.queue_name, self.priority_queues)

    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any, Any]:
        from queuecore.client import Task as QueuedTask
        from queuecore.contrib.django.connection import shared_client

        self.validate_task(task)
        result: TaskResult[Any, Any] = TaskResult(
            task=task,
            id=str(uuid.uuid4()),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        enqueued_at = timezone.now()
        job = Job(
            task_path=task.module_path,
            args=result.args,
            kwargs=result.kwargs,
            backend=self.alias,
            queue_name=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            enqueued_at=enqueued_at,
        )
        shared_client(self._url()).enqueue(
            QueuedTask(TASK_TYPE, job.encode()),
            queue=self.asynq_queue(task),
            task_id=result.id,
            max_retry=self.max_retry,
            timeout=self.timeout,
            retention=self.retention,
            process_at=task.run_after,
        )
        object.__setattr__(result, "enqueued_at", enqueued_at)
        task_enqueued.send(type(self), task_result=result)
        return result

    def candidate_queues(self) -> Iterable[str]:
        if not self.queues:
            from queuecore.contrib.django.connection import shared_inspector

            return shared_inspector(self._url()).queues()
        return sorted(set(self.queues) | set(self.priority_queues))

    def get_result(self, result_id: str) -> TaskResult[Any, Any]:
        from queuecore.contrib.django.connection import shared_inspector

        inspector = shared_inspector(self._url())
        for queue in self.candidate_queues():
            try:
                info = inspector.get_task_info(queue, result_id)
            except (TaskNotFoundError, QueueNotFoundError):
                continue
            if info.type == TASK_TYPE:
                return self.result_from(info)
        raise TaskResultDoesNotExist(result_id)

    def result_from(self, info: TaskInfo) -> TaskResult[Any, Any]:
        try:
            job = Job.decode(info.payload)
            task = resolve_task(job.task_path)
        except ValueError as exc:
            raise TaskResultDoesNotExist(f"{info.id}: {exc}") from exc
        task = task.using(
            priority=job.priority,
            queue_name=job.queue_name,
            run_after=job.run_after,
            backend=self.alias,
        )
        status = STATUS_BY_STATE[info.state]
        outcome = Outcome.decode(info.result)
        errors = list(outcome.errors) if outcome else []
        if status is TaskResultStatus.FAILED and not errors and info.last_err:
            # Archived by asynq itself (timeout, lost lease) or written by another tool.
            errors = [TaskError(exception_class_path="builtins.Exception", traceback=info.last_err)]
        finished_at = (outcome.finished_at if outcome else None) or info.completed_at
        if status is TaskResultStatus.FAILED:
            finished_at = finished_at or info.last_failed_at
        elif status is not TaskResultStatus.SUCCESSFUL:
            # A READY task may carry the outcome of a failed attempt; it has not finished.
            finished_at = None
        result: TaskResult[Any, Any] = TaskResult(
            task=task,
            id=info.id,
            status=status,
            enqueued_at=job.enqueued_at,
            started_at=outcome.started_at if outcome else None,
            finished_at=finished_at,
            last_attempted_at=(outcome.started_at if outcome else None) or info.last_failed_at,
            args=job.args,
            kwargs=job.kwargs,
            backend=self.alias,
            errors=errors,
            worker_ids=list(outcome.worker_ids) if outcome else [],
        )
        if status is TaskResultStatus.SUCCESSFUL and outcome is not None:
            object.__setattr__(result, "_return_value", outcome.return_value)
        return result

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        messages: list[checks.CheckMessage] = []
        unknown = set(self.options) - KNOWN_OPTIONS
        if unknown:
            messages.append(
                checks.Warning(
                    f"Unknown OPTIONS for TASKS[{self.alias!r}]: {', '.join(sorted(unknown))}",
                    hint=f"Known options: {', '.join(sorted(KNOWN_OPTIONS))}.",
                    id="queuecore.W101",
                )
            )
        served = set(queuecore_setting("QUEUES") or {})
        missing = sorted((set(self.queues) | set(self.priority_queues)) - served)
        if served and missing:
            messages.append(
                checks.Warning(
                    f"TASKS[{self.alias!r}] sends tasks to queues no worker serves: "
                    f"{', '.join(missing)}",
                    hint='Add them to QUEUECORE["QUEUES"] or to runworker\'s --queues.',
                    id="queuecore.W102",
                )
            )
        return messages


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _error(exc: BaseException) -> TaskError:
    kind = type(exc)
    text = "".join(traceback.format_exception(exc))
    if len(text) > MAX_TRACEBACK_CHARS:
        text = "…" + text[-MAX_TRACEBACK_CHARS:]
    return TaskError(exception_class_path=f"{kind.__module__}.{kind.__qualname__}", traceback=text)


def is_final_failure(task: HandlerTask, error: BaseException) -> bool:
    """Whether the worker ends the task for good when this attempt raises ``error``.

    The processor's own decision (asynq's handleFailedMessage): RevokeTask deletes the task,
    SkipRetry or exhausted retries archive it; anything else is retried.
    """
    from queuecore.server.policy import failure_action

    return failure_action(task.retried, task.max_retry, error) != "retry"


def run_django_task(task: HandlerTask) -> None:
    """The ``django.tasks`` handler: run one enqueued Django task, sending Django's signals.

    Refuses (``SkipRetry``, so the task is archived unrun) payloads this backend did not write,
    paths that are not ``@task`` objects, and backends that are not a QueuecoreBackend. An exception
    from the task is recorded as the result and re-raised so asynq retries or archives it.
    """
    from django.db import close_old_connections

    from queuecore.handlers import DeadlineExceededError, SkipRetry, TaskCanceledError

    try:
        job = Job.decode(task.payload)
        django_task = resolve_task(job.task_path)
        backend = task_backends[job.backend]
    except Exception as exc:
        # Bad JSON, a path that is not a Task, a module that fails to import, an unknown backend
        # alias (InvalidTaskBackend): running it again would fail the same way.
        log.warning("refusing django.tasks task %s: %s", task.id, exc)
        raise SkipRetry(f"refused: {exc}") from exc
    if not isinstance(backend, QueuecoreBackend):
        raise SkipRetry(f"refused: backend {job.backend!r} is not a QueuecoreBackend")
    django_task = django_task.using(
        priority=job.priority, queue_name=job.queue_name, backend=job.backend
    )
    started_at = timezone.now()
    me = worker_id()
    # asynq keeps no per-attempt history; earlier attempts are credited to this worker.
    worker_ids = [me] * (task.retried + 1)
    result: TaskResult[Any, Any] = TaskResult(
        task=django_task,
        id=task.id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=job.enqueued_at,
        started_at=started_at,
        finished_at=None,
        last_attempted_at=started_at,
        args=job.args,
        kwargs=job.kwargs,
        backend=job.backend,
        errors=[],
        worker_ids=worker_ids,
    )
    sender = type(backend)
    close_old_connections()
    try:
        task_started.send(sender=sender, task_result=result)
        if django_task.takes_context:
            raw = django_task.call(TaskContext(task_result=result), *job.args, **job.kwargs)
        else:
            raw = django_task.call(*job.args, **job.kwargs)
        value = normalize_json(raw)
        # The worker may have given up on this attempt meanwhile (its deadline, asynq:cancel) and
        # recorded that failure already: returning late does not make the attempt a success.
        task.raise_if_cancelled()
        finished_at = timezone.now()
        encoded = Outcome(
            status=TaskResultStatus.SUCCESSFUL,
            return_value=value,
            worker_ids=tuple(worker_ids),
            started_at=started_at,
            finished_at=finished_at,
        ).encode()
    except Exception as exc:
        reason = task.cancel_reason
        if reason is not None and not isinstance(reason, DeadlineExceededError | TaskCanceledError):
            # Requeued at shutdown, or its lease ran out (another worker may hold the task now):
            # this attempt records nothing and the task runs again.
            raise
        # What the worker recorded for this attempt: the cancellation when there was one.
        failure = reason or exc
        error = _error(failure)
        result.errors.append(error)
        # Django's task_finished means "the result reached a final status". An attempt asynq
        # will retry has not: the result goes back to READY ("ready to be executed again").
        final = is_final_failure(task, failure)
        if final:
            object.__setattr__(result, "finished_at", timezone.now())
            object.__setattr__(result, "status", TaskResultStatus.FAILED)
        else:
            object.__setattr__(result, "status", TaskResultStatus.READY)
        try:
            task.write_result(
                Outcome(
                    status=result.status,
                    errors=(error,),
                    worker_ids=tuple(worker_ids),
                    started_at=started_at,
                    finished_at=result.finished_at,
                ).encode()
            )
        except QueueCoreError as write_error:
            log.warning("could not record the failure of %s: %s", task.id, write_error)
        if final:
            # Sent from inside the except block so Django's receiver logs the exception with it.
            task_finished.send(sender=sender, task_result=result)
        raise
    finally:
        close_old_connections()
    task.write_result(encoded)
    object.__setattr__(result, "finished_at", finished_at)
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "_return_value", value)
    task_finished.send(sender=sender, task_result=result)
