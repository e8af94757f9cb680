"""Handlers on the default ServeMux, for tests that run a worker in another process."""

from __future__ import annotations

from queuecore.handlers import HandlerTask, handler


@handler("sample:echo")
def echo(task: HandlerTask) -> None:
    task.write_result(task.payload)
