"""A claimed task while the processor holds it, and the queue that hands jobs to runners."""

from __future__ import annotations

import asyncio
import collections
import threading
from typing import Any

from queuecore.clock import Clock
from queuecore.errors import QueueCoreError
from queuecore.handlers import Handler, HandlerTask
from queuecore.messages import TaskMessage

# Handlers quicker than this on average run back to back on one awake runner thread...
FAST_HANDLER_SECONDS = 0.001


class ShutdownRequeue(QueueCoreError):
    def __init__(self) -> None:
        super().__init__("requeued at shutdown")


class Job:
    """One claimed task while this server holds it."""

    __slots__ = (
        "atask",
        "deadline",
        "finished",
        "handler",
        "lease_expiry",
        "msg",
        "runner",
        "started",
        "task",
    )

    def __init__(
        self,
        msg: TaskMessage,
        task: HandlerTask,
        handler: Handler | None,
        started: float,
        deadline: float,
        lease_expiry: float,
    ) -> None:
        self.msg = msg
        self.task = task
        self.handler = handler
        self.started = started
        self.deadline = deadline
        self.lease_expiry = lease_expiry
        self.finished = False
        self.runner: Runner | None = None
        self.atask: asyncio.Task[Any] | None = None


class Runner:
    __slots__ = ("retired", "thread")

    def __init__(self) -> None:
        self.retired = False
        self.thread: threading.Thread | None = None


class WorkQueue:
    """Claimed jobs waiting for a runner thread; wakes only the runners the jobs need.

    Waking a thread per job costs more than a quick handler itself (a futex wake, then a fight
    for the GIL), so while recent handlers have been quick (``average`` below
    FAST_HANDLER_SECONDS) a batch wakes one runner — the one that slept last, whose stack is
    still warm — and it runs the jobs back to back. Nothing waits on that guess for long: the
    I/O thread calls :meth:`unstick` once a job has waited STALL_SECONDS, which wakes a runner
    for every queued job (a slow handler is holding the awake ones). While handlers are slow on
    average, every job gets its own runner at once.
    """

    def __init__(self, clock: Clock) -> None:
        self._monotonic = clock.monotonic
        self._jobs: collections.deque[Job | None] = collections.deque()
        self._mutex = threading.Lock()
        self._sleepers: list[threading.Lock] = []  # one held lock per sleeping runner, LIFO
        self._awake = 0  # runner threads not sleeping (running a job, or about to take one)
        self._since = 0.0  # when the oldest waiting job was queued (monotonic)
        self.average = 0.0  # running average of handler durations, seconds

    def put_many(self, jobs: list[Job]) -> None:
        with self._mutex:
            if not self._jobs:
                self._since = self._monotonic()
            self._jobs.extend(jobs)
            if self.average < FAST_HANDLER_SECONDS:
                self._wake(0 if self._awake else 1)
            else:
                self._wake(len(jobs))

    def get(self) -> Job | None:
        while True:
            with self._mutex:
                if self._jobs:
                    job = self._jobs.popleft()
                    if self._jobs:
                        self._since = self._monotonic()
                    return job
                sleeper = threading.Lock()
                sleeper.acquire()
                self._sleepers.append(sleeper)
                self._awake -= 1
            sleeper.acquire()  # until _wake releases it

    def _wake(self, count: int) -> None:
        # Called with the mutex held. A woken runner counts as awake from here on.
        sleepers = self._sleepers
        for _ in range(min(count, len(sleepers))):
            self._awake += 1
            sleepers.pop().release()

    def waiting_since(self) -> float | None:
        """When the oldest queued job was queued, or None when nothing waits."""
        return self._since if self._jobs else None

    def unstick(self) -> None:
        """Wake a sleeping runner for every queued job (the awake ones are held up)."""
        with self._mutex:
            self._since = self._monotonic()
            self._wake(len(self._jobs))

    def close(self, runners: int) -> None:
        """Tell ``runners`` runner threads to exit."""
        with self._mutex:
            self._jobs.extend([None] * runners)
            self._wake(len(self._sleepers))

    def record(self, seconds: float) -> None:
        self.average += (seconds - self.average) * 0.2

    def add_runner(self) -> None:
        with self._mutex:
            self._awake += 1

    def remove_runner(self) -> None:
        with self._mutex:
            self._awake -= 1
