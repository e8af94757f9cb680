"""Failure injection at our own seam: a real WorkerStore whose operations raise on demand.

Nothing here imitates Redis: every call that is not told to fail goes to the real redis-server.
``store.fail("forward", error, error)`` makes the next two ``forward`` calls raise ``error``
before they reach Redis; ``"execute"`` is a worker batch (the processor's acks and claims).
``after=True`` raises after the real call returned. ``store.lose_replies("done", 1)`` lets the
next batch's ``done`` script run in Redis but hands back RedisUnavailableError in its place, as
when a node applied a command and only its reply was lost.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from queuecore.errors import RedisUnavailableError
from queuecore.rdb.connection import RedisSettings
from queuecore.rdb.worker import CancelSubscription, WorkerBatch, WorkerStore


class FaultyWorkerStore(WorkerStore):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self._faults: dict[str, list[tuple[BaseException, bool]]] = defaultdict(list)
        self._lock = threading.Lock()
        self.raised: list[tuple[str, BaseException]] = []
        self.exhausted = threading.Event()  # set once every injected fault has been raised
        self.exhausted.set()
        self._lost: dict[str, int] = defaultdict(int)

    def lose_replies(self, script: str, count: int) -> None:
        with self._lock:
            self._lost[script] += count

    def take_lost_reply(self, script: str) -> bool:
        with self._lock:
            if self._lost[script] <= 0:
                return False
            self._lost[script] -= 1
            return True

    @classmethod
    def from_url(cls, url: str) -> FaultyWorkerStore:
        return cls(RedisSettings.from_url(url).connect())

    def fail(self, operation: str, *errors: BaseException, after: bool = False) -> None:
        with self._lock:
            self._faults[operation].extend((error, after) for error in errors)
            self.exhausted.clear()

    def _next(self, operation: str, after: bool) -> BaseException | None:
        with self._lock:
            queued = self._faults.get(operation)
            if not queued or queued[0][1] != after:
                return None
            error, _ = queued.pop(0)
            self.raised.append((operation, error))
            if not any(self._faults.values()):
                self.exhausted.set()
            return error

    def call(self, operation: str, real: Any, *args: Any, **kwargs: Any) -> Any:
        error = self._next(operation, after=False)
        if error is not None:
            raise error
        result = real(*args, **kwargs)
        error = self._next(operation, after=True)
        if error is not None:
            raise error
        return result

    def batch(self) -> WorkerBatch:
        return _FaultyBatch(self)

    def forward(self, *args: Any, **kwargs: Any) -> int:
        return self.call("forward", super().forward, *args, **kwargs)  # type: ignore[no-any-return]

    def write_server_state(self, *args: Any, **kwargs: Any) -> None:
        self.call("write_server_state", super().write_server_state, *args, **kwargs)

    def list_lease_expired(self, *args: Any, **kwargs: Any) -> Any:
        return self.call("list_lease_expired", super().list_lease_expired, *args, **kwargs)

    def delete_expired_completed(self, *args: Any, **kwargs: Any) -> int:
        return self.call(  # type: ignore[no-any-return]
            "delete_expired_completed", super().delete_expired_completed, *args, **kwargs
        )

    def group_names(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.call("group_names", super().group_names, *args, **kwargs)  # type: ignore[no-any-return]

    def wait_for_pending(self, *args: Any, **kwargs: Any) -> bool:
        return self.call("wait_for_pending", super().wait_for_pending, *args, **kwargs)  # type: ignore[no-any-return]

    def subscribe_cancel(self) -> CancelSubscription:
        return self.call("subscribe_cancel", super().subscribe_cancel)  # type: ignore[no-any-return]


class _FaultyBatch(WorkerBatch):
    _store: FaultyWorkerStore

    def execute(self) -> list[Any]:
        results: list[Any] = self._store.call("execute", super().execute)
        for index, (script, *_rest) in enumerate(self._calls):
            if self._store.take_lost_reply(script):
                results[index] = RedisUnavailableError("injected: reply lost")
        return results
