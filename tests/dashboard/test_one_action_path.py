"""Only the one action path (dashboard.changes) changes tasks and queues; views never do."""

from __future__ import annotations

import re
from pathlib import Path

import dashboard

MUTATIONS = (
    "run_task|archive_task|delete_task|cancel_processing|run_tasks|archive_tasks|delete_tasks"
    "|run_all|archive_all|delete_all|cancel_all_active|pause_queue|unpause_queue|delete_queue"
)
CALL = re.compile(rf"\b(insp|inspector\(\)|self\.inspector)\.({MUTATIONS})\(")
# changes.py decides every change; recycle.py is the bin's copy-then-delete that changes calls.
ALLOWED = {"changes.py", "recycle.py"}


def test_only_the_action_module_calls_the_inspectors_mutating_methods() -> None:
    root = Path(dashboard.__file__).parent
    callers = {
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if CALL.search(path.read_text(encoding="utf-8"))
    }
    assert callers <= ALLOWED, callers
