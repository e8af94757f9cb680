"""django.tasks functions the backend tests enqueue (module level, as Django requires)."""

from __future__ import annotations

from django.tasks import TaskContext, task


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
