"""django.tasks functions the backend tests enqueue (module level, as Django requires)."""

from __future__ import annotations

import threading

from django.tasks import TaskContext, task

from queuecore.handlers import RevokeTask, SkipRetry


@task
def add(a: int, b: int) -> int:
    return a + b


@task(queue_name="low")
def slow_report(name: str) -> dict[str, object]:
    return {"report": name, "rows": 3}


@task
def explode(message: str) -> None:
    raise ValueError(message)


@task(takes_context=True)
def fails_on_first_attempt(context: TaskContext) -> int:
    if context.attempt == 1:
        raise ConnectionError("first attempt always fails")
    return context.attempt


@task
def gives_up(message: str) -> None:
    raise SkipRetry(message)


@task
def revokes(message: str) -> None:
    raise RevokeTask(message)


@task(takes_context=True)
def whoami(context: TaskContext) -> dict[str, object]:
    return {"id": context.task_result.id, "attempt": context.attempt}


@task
async def add_async(a: int, b: int) -> int:
    return a + b


@task
def unserializable() -> object:
    return object()


def not_a_task() -> str:
    return "should never run"


# The test drives this task from outside: it waits until released (or 30 s).
entered = threading.Event()
release = threading.Event()


@task
def waits_for_release() -> str:
    entered.set()
    release.wait(30)
    return "late"
