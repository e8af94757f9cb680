"""Our side of the live suite: a worker that behaves like the lab's Go worker.

Task types behave as in ``asynqlab work``: ``…:fail`` raises, ``…:slow`` waits (until cancelled,
or ``slow`` seconds), anything else succeeds. Every start and end is recorded as an event of the
same shape as the Go worker's (start/done/error/canceled with id, type, payload, queue).

``python -m tests.go.py_side URL [clock offset s]`` runs the same worker as a process (to be
SIGKILLed mid-task), with a short lease and a clock shifted by the offset.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from queuecore.handlers import HandlerTask, ServeMux
from queuecore.server import Server
from tests.go.lab import EVENT_TIMEOUT, Event

TYPES = ("lab:", "aggregated:", "py:")


class OffsetClock:
    """The system clock shifted by ``offset`` seconds (a seam of ours: every component reads it)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    # Only the wall clock is shifted (that is what Go's recoverer compares leases with);
    # durations and deadlines inside our worker run on real monotonic time.
    monotonic = staticmethod(time.monotonic)


def lab_mux(record: Callable[[Event], None], slow: float = 30.0) -> ServeMux:
    def handle(task: HandlerTask) -> None:
        base = {"id": task.id, "type": task.type, "payload": task.payload.decode(errors="replace")}
        record(
            {
                **base,
                "event": "start",
                "queue": task.queue,
                "headers": dict(task.headers),
                "retried": task.retried,
                "max_retry": task.max_retry,
                "deadline": task.deadline,
            }
        )
        if task.type.endswith(":slow") and task.cancel_event.wait(slow):
            record({**base, "event": "canceled"})
            task.raise_if_cancelled()
        if task.type.endswith(":fail"):
            record({**base, "event": "error", "err": "boom from python"})
            raise RuntimeError("boom from python")
        record({**base, "event": "done", "queue": task.queue})

    mux = ServeMux()
    for prefix in TYPES:
        mux.register(prefix, handle)
    return mux


class PyWorker:
    """Our Server in this process, started per test with the options it needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[Event] = []
        self._changed = threading.Condition()
        self.server: Server | None = None

    def record(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def start(self, *, burst: bool = False, slow: float = 30.0, **options: Any) -> Server:
        options.setdefault("shutdown_timeout", 1.0)
        options.setdefault("retry_delay", lambda n, e, t: 0)
        self.server = Server.from_url(self.url, mux=lab_mux(self.record, slow), **options)
        self.server.start(burst=burst)
        return self.server

    def wait_event(self, kind: str, task_id: str | None = None, **fields: Any) -> Event:
        def match(event: Event) -> bool:
            return (
                event["event"] == kind
                and (task_id is None or event["id"] == task_id)
                and all(event.get(k) == v for k, v in fields.items())
            )

        deadline = time.monotonic() + EVENT_TIMEOUT
        with self._changed:
            while True:
                found = next((e for e in self.events if match(e)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"our worker reported no {kind}; saw {self.events}")
                self._changed.wait(left)

    def run_burst(self, **options: Any) -> list[Event]:
        """Process what is there now and return (the server's burst mode)."""
        server = self.start(burst=True, **options)
        assert server.wait(EVENT_TIMEOUT), "burst did not finish"
        self.server = None
        return self.events

    def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            server.stop(0.5)
            assert server.wait(10), "our server did not shut down"


def main(argv: list[str]) -> int:
    url = argv[1]
    offset = float(argv[2]) if len(argv) > 2 else 0.0
    logging.basicConfig(level=logging.WARNING)

    def record(event: Event) -> None:
        print(json.dumps(event, default=str), flush=True)

    server = Server.from_url(
        url,
        mux=lab_mux(record),
        clock=OffsetClock(offset),
        lease_duration=2,
        heartbeat_interval=0.5,
        shutdown_timeout=1.0,
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
