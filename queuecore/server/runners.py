"""Where handlers run: runner threads for plain functions, one asyncio loop for coroutines.

The processor hands claimed jobs over here and hears back through ``finish(job, error)``; when
it abandons a job (deadline, lease, cancel, shutdown) :meth:`HandlerRunners.interrupt` cancels
its coroutine or retires its thread, since Python cannot end a thread from outside.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from queuecore.clock import Clock
from queuecore.handlers import TaskCanceledError
from queuecore.server.jobs import Job, Runner, WorkQueue

StartThread = Callable[..., threading.Thread]
Finish = Callable[[Job, BaseException | None], None]


class HandlerRunners:
    def __init__(self, clock: Clock, start_thread: StartThread, finish: Finish) -> None:
        self.clock = clock
        self.work = WorkQueue(clock)
        self._start_thread = start_thread
        self._finish = finish
        self._runners: list[Runner] = []
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._async_lock = threading.Lock()
        # Threads retired because their handler ignored its cancellation: never waited for.
        self.abandoned: set[threading.Thread] = set()

    def spawn_runner(self) -> None:
        runner = Runner()
        self._runners = [r for r in self._runners if not r.retired] + [runner]
        runner.thread = self._start_thread("queuecore-runner", self._runner_main, runner)

    def submit_async(self, job: Job) -> None:
        loop = self._ensure_async_loop()
        loop.call_soon_threadsafe(self._start_async, job)

    def interrupt(self, job: Job, *, replace: bool) -> None:
        """Cancel an abandoned job's coroutine, or retire its runner (a fresh one takes the
        slot when ``replace``)."""
        if job.atask is not None:
            loop = self._async_loop
            if loop is not None:
                loop.call_soon_threadsafe(job.atask.cancel)
            return
        runner = job.runner
        if runner is not None and not runner.retired:
            runner.retired = True
            if runner.thread is not None:
                self.abandoned.add(runner.thread)
            if replace:
                self.spawn_runner()

    def close(self) -> None:
        """Tell every runner thread and the asyncio loop to end."""
        self.work.close(len(self._runners))
        loop = self._async_loop
        if loop is not None:
            loop.call_soon_threadsafe(loop.stop)

    # -- runner threads -------------------------------------------------------------------------

    def _runner_main(self, runner: Runner) -> None:
        work = self.work
        work.add_runner()
        try:
            self._run_jobs(runner)
        finally:
            work.remove_runner()

    def _run_jobs(self, runner: Runner) -> None:
        work = self.work
        finish = self._finish
        clock = self.clock.monotonic
        while True:
            job = work.get()
            if job is None:
                return
            if job.finished:
                continue
            job.runner = runner
            error: BaseException | None = None
            started = clock()
            try:
                result = job.handler.fn(job.task)  # type: ignore[union-attr]
                if inspect.iscoroutine(result):
                    self._run_coroutine(job, result)
            except BaseException as exc:  # a handler's SystemExit is Go's panic: caught, reported
                error = exc
            work.record(clock() - started)
            job.runner = None
            finish(job, error)
            if runner.retired:
                return

    # -- the asyncio loop -----------------------------------------------------------------------

    def _run_coroutine(self, job: Job, coro: Coroutine[Any, Any, Any]) -> None:
        loop = self._ensure_async_loop()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        while not future.done():
            try:
                future.result(timeout=0.5)
            except TimeoutError:
                if job.finished:
                    future.cancel()
                    return
        future.result()

    def _ensure_async_loop(self) -> asyncio.AbstractEventLoop:
        with self._async_lock:
            if self._async_loop is None:
                loop = asyncio.new_event_loop()
                self._start_thread("queuecore-asyncio", loop.run_forever)
                self._async_loop = loop
            return self._async_loop

    def _start_async(self, job: Job) -> None:
        if job.finished:
            return
        try:
            coro = job.handler.fn(job.task)  # type: ignore[union-attr]
        except BaseException as exc:
            self._finish(job, exc)
            return
        atask = asyncio.ensure_future(coro)
        job.atask = atask

        def done(fut: asyncio.Future[Any]) -> None:
            if fut.cancelled():
                self._finish(job, TaskCanceledError())
            else:
                self._finish(job, fut.exception())

        atask.add_done_callback(done)
        if job.finished:  # abandoned between the check above and job.atask being set
            atask.cancel()
