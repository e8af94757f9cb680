"""Cancel subscriber (spec §4.2 W8): ``asynq:cancel`` messages cancel running handlers.

A message is a task id; if that task runs in this process its handler's context is cancelled and
the task goes down the error path with "context canceled" (normally a retry, asynq issue #532).
The subscription is re-made after a failure (asynq: every 5 s; here with backoff up to that).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from queuecore.errors import RedisUnavailableError
from queuecore.rdb.worker import CancelSubscription, WorkerStore
from queuecore.server.component import Backoff

log = logging.getLogger("queuecore.server.subscriber")


class Subscriber:
    name = "subscriber"

    def __init__(
        self,
        store: WorkerStore,
        on_cancel: Callable[[str], bool],
        retry_interval: float = 5.0,
        poll_timeout: float = 1.0,
    ) -> None:
        self.store = store
        self.on_cancel = on_cancel
        self.retry_interval = retry_interval
        self.poll_timeout = poll_timeout
        self._subscription: CancelSubscription | None = None

    def connect(self) -> None:
        """Subscribe now (the server does this before it claims its first task)."""
        if self._subscription is None:
            self._subscription = self.store.subscribe_cancel()

    def run_once(self, timeout: float | None = None) -> str | None:
        """Wait up to ``timeout`` s for one cancel message and act on it; returns the task id."""
        self.connect()
        assert self._subscription is not None
        try:
            task_id = self._subscription.get(self.poll_timeout if timeout is None else timeout)
        except RedisUnavailableError:
            self.close()
            raise
        if task_id is not None and self.on_cancel(task_id):
            log.info("cancelled task id=%s on request", task_id)
        return task_id

    def run_forever(self, stop: threading.Event) -> None:
        backoff = Backoff(first=0.2, cap=self.retry_interval)
        while not stop.is_set():
            try:
                self.run_once()
                backoff.reset()
            except RedisUnavailableError as exc:
                delay = backoff.next_delay()
                log.warning("subscriber: Redis unavailable (%s); retry in %.1fs", exc, delay)
                if stop.wait(delay):
                    break
            except Exception:
                # An unexpected reply or a bug: the subscription may be broken, so start afresh.
                self.close()
                delay = backoff.next_delay()
                log.exception("subscriber failed; retry in %.1fs", delay)
                if stop.wait(delay):
                    break
        self.close()

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
