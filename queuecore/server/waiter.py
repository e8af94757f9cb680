"""A waiter: one thread per served queue that wakes the processor when a task arrives.

It blocks in ``BLMOVE pending pending RIGHT RIGHT`` — which returns the moment any client, Go's
included, pushes a task, and moving the oldest ID to where it already is changes nothing — then
wakes the I/O thread, which claims through the normal script (so pause and lease are honoured).
It only blocks while the processor has armed it; a paused queue's waiter does not block on its
list, and the processor re-checks every queue every ``idle_poll_interval`` regardless, like Go's
poll, so nothing depends on the wake-up alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from queuecore.errors import MalformedDataError, RedisUnavailableError
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import Backoff

log = logging.getLogger("queuecore.server.processor")


class QueueWaiter:
    def __init__(
        self,
        store: WorkerStore,
        qname: str,
        poll: float,
        *,
        armed: threading.Event,
        exited: threading.Event,
        idle: Callable[[str], bool],
        wake: Callable[[], None],
    ) -> None:
        self.store = store
        self.qname = qname
        self.poll = poll
        self._armed = armed
        self._exited = exited
        self._idle = idle  # paused, or claims stopped: a wake-up would be for nothing
        self._wake = wake

    def run(self) -> None:
        backoff = Backoff(first=0.1, cap=5.0)
        qname, poll = self.qname, self.poll
        while not self._exited.is_set():
            if not self._armed.wait(1.0) or self._exited.is_set():
                continue
            if self._idle(qname):
                # A paused queue with tasks would wake us at once, forever; the loop's periodic
                # re-check notices the unpause instead.
                self._exited.wait(poll)
                continue
            try:
                has_tasks = self.store.wait_for_pending(qname, poll)
                backoff.reset()
            except (RedisUnavailableError, MalformedDataError):  # the claim logs the latter
                self._exited.wait(backoff.next_delay())
                continue
            except Exception:
                # An unexpected reply must not end the wake-ups of this queue.
                delay = backoff.next_delay()
                log.exception("waiter for queue %r failed; retrying in %.1fs", qname, delay)
                self._exited.wait(delay)
                continue
            if has_tasks and self._armed.is_set():
                self._armed.clear()
                self._wake()
