"""queuecore: asynq v0.26's Redis protocol, from Python. Never imports Django.

Public names are loaded lazily so that ``import queuecore`` stays cheap for the worker.
"""

from __future__ import annotations

import importlib
from typing import Any

from queuecore.errors import (
    DuplicateTaskError,
    InvalidArgumentError,
    QueueCoreError,
    QueueHasActiveTasksError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    RedisUnavailableError,
    TaskAlreadyArchivedError,
    TaskIdConflictError,
    TaskNotFoundError,
    WrongStateError,
)
from queuecore.rdb.settings import RedisSettings
from queuecore.taskinfo import TaskInfo, TaskState

# The one place the version is written (pyproject.toml reads it from here).
__version__ = "0.1.0"

_LAZY = {
    "Client": "queuecore.client",
    "Task": "queuecore.client",
    "Server": "queuecore.server",
    "ServerConfig": "queuecore.server",
    "handler": "queuecore.handlers",
    "ServeMux": "queuecore.handlers",
    "SkipRetry": "queuecore.handlers",
    "RevokeTask": "queuecore.handlers",
    "Inspector": "queuecore.inspector",
    "Scheduler": "queuecore.scheduler",
}

__all__ = [
    "DuplicateTaskError",
    "InvalidArgumentError",
    "QueueCoreError",
    "QueueHasActiveTasksError",
    "QueueNotEmptyError",
    "QueueNotFoundError",
    "QueuePausedStateError",
    "RedisSettings",
    "RedisUnavailableError",
    "TaskAlreadyArchivedError",
    "TaskIdConflictError",
    "TaskInfo",
    "TaskNotFoundError",
    "TaskState",
    "WrongStateError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'queuecore' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
