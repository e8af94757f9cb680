"""Handlers: what a worker runs for each task type, and the errors handlers raise.

Like asynq's ``ServeMux``: a pattern matches a task type exactly, otherwise the longest pattern that
is a prefix of the type wins; no match fails the task with asynq's text
``handler not found for task "<type>"``.

```python
from queuecore.handlers import handler, SkipRetry

@handler("email:send")
def send_email(task):            # or: async def send_email(task)
    task.payload                  # bytes
    task.write_result(b"sent")
    raise SkipRetry("bad address")  # archive at once, no retry
```

Errors a handler may raise (asynq's sentinels):

* :class:`SkipRetry` — archive now (asynq's ``SkipRetry``); a handler error *caused by* SkipRetry
  (``raise X from SkipRetry()``) counts too, like Go's ``errors.Is``.
* :class:`RevokeTask` — end the task without retry or archive (it is acknowledged as done).
* anything else — retried with the server's retry delay until ``max_retry``; the stored error
  text is ``str(exc)`` (the class name when that is empty). A ``BaseException`` that is not an
  ``Exception`` (``SystemExit`` from a handler) is Go's panic case and is stored in Go's panic form
  ``panic error cause by: panic [file:line]: <value>``; the worker keeps running.

Cancellation: a handler's context ends when its processing deadline passes, when
``asynq:cancel`` names it, or at shutdown. ``async def`` handlers get ``CancelledError``. A plain
function cannot be interrupted safely from outside, so it is told — ``task.is_cancelled()``,
``task.cancel_event`` — and the worker, like Go's, records the failure at once and does not wait
for it (the thread is replaced; the function's late return is ignored).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from queuecore.errors import InvalidArgumentError, QueueCoreError
from queuecore.proto.asynq_pb2 import TaskMessage

if TYPE_CHECKING:
    from queuecore.rdb.worker import WorkerStore

__all__ = [
    "DeadlineExceededError",
    "HandlerFunc",
    "HandlerNotFoundError",
    "HandlerTask",
    "LeaseExpiredError",
    "RevokeTask",
    "ServeMux",
    "SkipRetry",
    "TaskCanceledError",
    "default_mux",
    "handler",
]

HandlerFunc = Callable[["HandlerTask"], Any] | Callable[["HandlerTask"], Awaitable[Any]]


class SkipRetry(QueueCoreError):
    """Raise from a handler to archive the task at once instead of retrying it."""

    def __init__(self, message: str = "skip retry for the task") -> None:
        super().__init__(message)


class RevokeTask(QueueCoreError):
    """Raise from a handler to end the task: no retry, no archive (acknowledged as done)."""

    def __init__(self, message: str = "revoke task") -> None:
        super().__init__(message)


class TaskCanceledError(QueueCoreError):
    """The task was cancelled through ``asynq:cancel`` (Go's ``context.Canceled``)."""

    def __init__(self) -> None:
        super().__init__("context canceled")


class DeadlineExceededError(QueueCoreError):
    """The task ran past its processing deadline (Go's ``context.DeadlineExceeded``)."""

    def __init__(self) -> None:
        super().__init__("context deadline exceeded")


class LeaseExpiredError(QueueCoreError):
    """The worker's lease on the task ran out; another worker may own it now."""

    def __init__(self) -> None:
        super().__init__("asynq: task lease expired")


class HandlerNotFoundError(QueueCoreError):
    def __init__(self, task_type: str) -> None:
        self.task_type = task_type
        super().__init__(f'handler not found for task "{task_type}"')


def wraps_error(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is ``kind`` or was raised from / while handling one (Go's errors.Is)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def error_text(exc: BaseException) -> str:
    """The text stored in ``error_msg`` for a handler failure (see the module docstring)."""
    if isinstance(exc, Exception):
        return str(exc) or type(exc).__name__
    frame = exc.__traceback__
    where = "unknown"
    while frame is not None:
        where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}"
        frame = frame.tb_next
    return f"panic error cause by: panic [{where}]: {exc!r}"


_event_lock = threading.Lock()


class HandlerTask:
    """The task a handler receives: asynq's Task plus its ResultWriter and context."""

    __slots__ = ("_cancel_reason", "_deadline", "_event", "_message", "_store")

    def __init__(self, message: TaskMessage, deadline: float, store: WorkerStore | None) -> None:
        self._message = message
        self._deadline = deadline
        self._store = store
        self._cancel_reason: QueueCoreError | None = None
        self._event: threading.Event | None = None

    @property
    def id(self) -> str:
        return self._message.id

    @property
    def type(self) -> str:
        return self._message.type

    @property
    def payload(self) -> bytes:
        return bytes(self._message.payload)

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._message.headers)

    @property
    def queue(self) -> str:
        return self._message.queue

    @property
    def retried(self) -> int:
        return self._message.retried

    @property
    def max_retry(self) -> int:
        return self._message.retry

    @property
    def group(self) -> str:
        return self._message.group_key

    @property
    def deadline(self) -> datetime:
        """When the handler's context ends (the processing deadline, UTC)."""
        return datetime.fromtimestamp(self._deadline, UTC)

    @property
    def message(self) -> TaskMessage:
        """The stored TaskMessage (read it, do not change it)."""
        return self._message

    def write_result(self, data: bytes) -> int:
        """Store ``data`` as the task's result (HSET ``result``, like asynq's ResultWriter)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgumentError("a task result must be bytes")
        if self._store is None:
            raise InvalidArgumentError("this task has no result writer")
        self._store.write_result(self.queue, self.id, bytes(data))
        return len(data)

    # -- context --------------------------------------------------------------------------------

    def is_cancelled(self) -> bool:
        return self._cancel_reason is not None

    @property
    def cancel_reason(self) -> QueueCoreError | None:
        return self._cancel_reason

    @property
    def cancel_event(self) -> threading.Event:
        """An Event set when the task's context ends; sync handlers may ``wait()`` on it."""
        with _event_lock:
            if self._event is None:
                self._event = threading.Event()
                if self._cancel_reason is not None:
                    self._event.set()
            return self._event

    def raise_if_cancelled(self) -> None:
        if self._cancel_reason is not None:
            raise self._cancel_reason

    def _cancel(self, reason: QueueCoreError) -> None:
        with _event_lock:
            if self._cancel_reason is None:
                self._cancel_reason = reason
            event = self._event
        if event is not None:
            event.set()

    def __repr__(self) -> str:
        return f"<HandlerTask {self.type} id={self.id} queue={self.queue}>"


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


class Handler:
    """A registered handler: the function and whether it is ``async def``."""

    __slots__ = ("fn", "is_async", "pattern")

    def __init__(self, pattern: str, fn: HandlerFunc) -> None:
        self.pattern = pattern
        self.fn = fn
        self.is_async = _is_async(fn)


class ServeMux:
    """Maps task types to handlers: exact match, then the longest matching prefix."""

    def __init__(self) -> None:
        self._exact: dict[str, Handler] = {}
        self._by_length: list[Handler] = []
        self._cache: dict[str, Handler | None] = {}
        self._lock = threading.Lock()

    def register(self, pattern: str, fn: HandlerFunc) -> HandlerFunc:
        """Register ``fn`` for ``pattern``. Registering the same function again is harmless."""
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidArgumentError("a handler pattern must be a non-blank string")
        if not callable(fn):
            raise InvalidArgumentError(f"handler for {pattern!r} is not callable")
        with self._lock:
            existing = self._exact.get(pattern)
            if existing is not None and not _same_function(existing.fn, fn):
                raise InvalidArgumentError(
                    f"a different handler is already registered for {pattern!r}"
                )
            entry = Handler(pattern, fn)
            self._exact[pattern] = entry
            self._by_length = sorted(self._exact.values(), key=lambda h: -len(h.pattern))
            self._cache.clear()
        return fn

    def handle(self, pattern: str) -> Callable[[HandlerFunc], HandlerFunc]:
        """Decorator form of :meth:`register`."""

        def decorate(fn: HandlerFunc) -> HandlerFunc:
            return self.register(pattern, fn)

        return decorate

    def unregister(self, pattern: str) -> None:
        with self._lock:
            self._exact.pop(pattern, None)
            self._by_length = sorted(self._exact.values(), key=lambda h: -len(h.pattern))
            self._cache.clear()

    def match(self, task_type: str) -> Handler | None:
        try:
            return self._cache[task_type]
        except KeyError:
            pass
        found = self._exact.get(task_type)
        if found is None:
            found = next((h for h in self._by_length if task_type.startswith(h.pattern)), None)
        if len(self._cache) < 10_000:
            self._cache[task_type] = found
        return found

    def patterns(self) -> list[str]:
        return sorted(self._exact)

    def __contains__(self, task_type: object) -> bool:
        return isinstance(task_type, str) and self.match(task_type) is not None

    def __len__(self) -> int:
        return len(self._exact)


def _same_function(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # A module imported twice (autodiscovery, reloads) registers an equal but new function object.
    if a is b:
        return True
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    )


default_mux = ServeMux()


def handler(pattern: str, *, mux: ServeMux | None = None) -> Callable[[HandlerFunc], HandlerFunc]:
    """Register the decorated function for ``pattern`` on ``default_mux`` (or ``mux``)."""
    return (mux or default_mux).handle(pattern)
