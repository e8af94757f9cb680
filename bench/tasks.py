"""The peer benchmark's no-op handler; ``manage.py runworker`` finds it (bench/settings.py).

Its first and only statement is the harness's ``common.mark(payload)``: one ``write()`` of a
40-byte record to a tmpfs file, no Redis call. ``peerbench`` lives in ``../shared/bench``, which
the harness puts on ``PYTHONPATH`` for every worker it starts.
"""

from __future__ import annotations

from peerbench import common

from queuecore.handlers import HandlerTask, handler

TASK_TYPE = "bench:noop"


@handler(TASK_TYPE)
def noop(task: HandlerTask) -> None:
    common.mark(task.payload)
