"""The processor: claims tasks, runs their handlers, acknowledges the outcome (spec §4.2).

Design, built for throughput without changing a single key or state of asynq's protocol:

* **One I/O thread** (``queuecore-processor``) owns the hot path. Each turn it sends *one*
  pipeline holding every acknowledgement that is ready (all successful tasks of a queue in one
  ``done.lua`` call; retries, archives and completions as their own scripts) **plus the next
  claim** — ``dequeue.lua`` claiming up to as many tasks as slots are free. Each claim is exactly
  Go's single dequeue (paused check, RPOPLPUSH, ``state=active``, HDEL ``pending_since``, lease
  now+30 s), repeated N times inside the script. At load a task therefore costs a fraction of a
  round trip, and the processor never claims more tasks than it has free slots (as Go).
* **Handlers run elsewhere.** Plain functions run on ``concurrency`` runner threads fed by a
  ``SimpleQueue``; ``async def`` handlers run on one asyncio loop thread (started on first use).
  A finished handler puts its outcome on the outcome queue, which is what the I/O thread blocks on.
* **No spinning when idle.** When the served queues are empty, one waiter thread per queue
  (``queuecore.server.waiter``) blocks until a task arrives and wakes the I/O thread, which claims
  through the normal script; every queue is re-checked every ``idle_poll_interval`` regardless.
* **A watchdog thread** ends handlers at their processing deadline (``context deadline
  exceeded``) and when the local lease runs out (the task is then left alone, as Go: another
  worker may own it; the recoverer deals with it). Cancellation from ``asynq:cancel`` arrives
  through :meth:`Processor.cancel` (``context canceled``). As in Go, the failure is recorded at
  once; a plain function that ignores its cancel event is left running on a retired thread and a
  fresh runner takes its slot.
* **Acknowledgements check the local lease first** and are dropped once it has expired. When Redis
  is unreachable the I/O thread keeps the outcomes and retries with backoff until each lease
  runs out; the task stays active in Redis and is recovered, never lost.
* **Stopping claims** (:meth:`Processor.stop_claiming`, asynq's ``processor.stop()`` behind
  ``Server.Stop()``/SIGTSTP): no new claim, no deadline; held tasks run to their end and are
  acknowledged as usual. The I/O thread confirms once no claim is under way any more.
* **Shutdown**: stop claiming, let handlers finish for ``shutdown_timeout`` s, then requeue the
  rest (RPUSH, next in line) and acknowledge everything that finished.
"""

from __future__ import annotations

import logging
import math
import queue as queue_module
import threading
import time
from collections.abc import Callable
from typing import Any

from queuecore.clock import Clock
from queuecore.errors import MalformedDataError, QueueCoreError, RedisUnavailableError
from queuecore.handlers import (
    DeadlineExceededError,
    HandlerNotFoundError,
    HandlerTask,
    LeaseExpiredError,
    ServeMux,
    TaskCanceledError,
)
from queuecore.messages import TaskMessage
from queuecore.rdb.worker import WorkerStore
from queuecore.server.acks import Ack, Decider, add_acks, drop_expired, mark_resent, settle
from queuecore.server.component import Backoff
from queuecore.server.config import ServerConfig
from queuecore.server.jobs import FAST_HANDLER_SECONDS, Job, ShutdownRequeue, WorkQueue
from queuecore.server.policy import processing_deadline, queue_order
from queuecore.server.runners import HandlerRunners
from queuecore.server.waiter import QueueWaiter

# Older names, kept for callers that imported them from here.
Ack = Ack
_WorkQueue = WorkQueue

__all__ = ["FAST_HANDLER_SECONDS", "Job", "Processor", "ShutdownRequeue"]

log = logging.getLogger("queuecore.server.processor")

_WAKE = object()  # an outcome-queue item that only wakes the I/O thread
# A turn waits this long for the other running handlers to finish (one round trip for all).
COALESCE_SECONDS = 0.0005
# A queued job that waited this long wakes runners for every queued job (see WorkQueue).
STALL_SECONDS = 0.001
# While held tasks run and the queues looked empty, the waiters are armed after this long.
ARM_DELAY_SECONDS = 0.002


class Processor:
    def __init__(
        self,
        store: WorkerStore,
        mux: ServeMux,
        config: ServerConfig,
        clock: Clock,
        *,
        on_idle: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.mux = mux
        self.config = config
        self.clock = clock
        # Burst mode asks this (the forwarder) before deciding the queues are really empty.
        self.on_idle = on_idle
        self.queues = dict(config.queues)
        self.concurrency = config.concurrency
        self.claim_batch = config.claim_batch or config.concurrency
        self._decider = Decider(config, clock)
        self.processed = 0  # outcomes acknowledged; read by benchmarks and the banner

        self._inflight: dict[str, Job] = {}
        self._outcomes: queue_module.SimpleQueue[Any] = queue_module.SimpleQueue()
        self._finish_lock = threading.Lock()
        # Held tasks whose handler has not finished yet (guarded by _finish_lock); while the I/O
        # thread coalesces, the one that brings it to zero releases _all_finished.
        self._unfinished = 0
        self._coalescing = False
        self._all_finished = threading.Lock()
        self._all_finished.acquire()
        self._paused: set[str] = set()
        self._broken_logged: dict[str, float] = {}  # queue -> when its foreign key type was logged

        self._burst = False
        self._started = False
        self._stopping = threading.Event()
        self._stop_deadline = math.inf
        # Asked to take no new task (stop_claiming, or stop); the I/O thread sets _claims_ended
        # once it has seen that, between two turns, so no claim is under way from then on.
        self._claims_stopped = threading.Event()
        self._claims_ended = threading.Event()
        self._exited = threading.Event()
        self._armed = threading.Event()
        self._watch_wake = threading.Event()
        self._watch_next = math.inf
        self._threads: list[threading.Thread] = []
        self._handlers = HandlerRunners(clock, self._thread, self._finish)
        self._work = self._handlers.work

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, burst: bool = False) -> None:
        if self._started:
            raise RuntimeError("processor already started")
        self._started = True
        self._burst = burst
        for _ in range(self.concurrency):
            self._handlers.spawn_runner()
        self._thread("queuecore-processor", self._loop)
        self._thread("queuecore-watchdog", self._watchdog_main)
        if self.config.block_for_tasks and not burst:
            for name in self.queues:
                waiter = QueueWaiter(
                    self.store,
                    name,
                    min(1.0, self.config.idle_poll_interval),
                    armed=self._armed,
                    exited=self._exited,
                    idle=lambda q: q in self._paused or self._claims_stopped.is_set(),
                    wake=lambda: self._outcomes.put(_WAKE),
                )
                self._thread(f"queuecore-waiter-{name}", waiter.run)

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming; handlers get ``timeout`` (default shutdown_timeout) s, then requeue."""
        if self._stopping.is_set():
            return
        grace = self.config.shutdown_timeout if timeout is None else timeout
        self._stop_deadline = self.clock.monotonic() + grace
        self._claims_stopped.set()
        self._stopping.set()
        self._outcomes.put(_WAKE)

    def stop_claiming(self) -> None:
        """Take no new task; held tasks run to their end and are acknowledged as usual.

        Unlike :meth:`stop` there is no deadline and nothing is requeued: the loop keeps writing
        outcomes until :meth:`stop` ends it. A claim already under way completes and its tasks
        run; :meth:`wait_claims_stopped` tells when none is under way any more.
        """
        if self._claims_stopped.is_set():
            return
        self._claims_stopped.set()
        self._outcomes.put(_WAKE)

    def wait_claims_stopped(self, timeout: float | None = None) -> bool:
        """After :meth:`stop_claiming`: block until the I/O thread takes no new task."""
        return self._claims_ended.wait(timeout)

    @property
    def claiming(self) -> bool:
        """False once asked to take no new task (stop_claiming or stop)."""
        return not self._claims_stopped.is_set()

    def stop_now(self) -> None:
        """Stop and requeue whatever is still running without waiting."""
        self.stop(0.0)
        self._stop_deadline = self.clock.monotonic()
        self._outcomes.put(_WAKE)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the I/O loop has exited (everything acknowledged or requeued)."""
        return self._exited.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._exited.is_set()

    def close(self) -> None:
        """Release the runner threads and the async loop after the loop has exited."""
        self._handlers.close()
        self._watch_wake.set()

    def join(self, timeout: float) -> None:
        """After :meth:`close`, wait up to ``timeout`` s in all for this processor's threads.

        A runner retired because its handler ignored its cancellation is not waited for: Python
        cannot end a thread, so it lives (as a daemon) until that handler returns.
        """
        # A real wait on real threads, so measured in real time whatever clock is injected.
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is threading.current_thread() or thread in self._handlers.abandoned:
                continue
            thread.join(max(0.0, deadline - time.monotonic()))

    def _thread(self, name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    # -- what the heartbeat and the subscriber ask ----------------------------------------------

    def snapshot(self) -> list[Job]:
        """The tasks currently held (claimed and not yet acknowledged)."""
        return list(self._inflight.values())

    def extend_local_leases(self, jobs: list[Job], expiry: float) -> None:
        for job in jobs:
            job.lease_expiry = max(job.lease_expiry, expiry)

    def cancel(self, task_id: str) -> bool:
        """Cancel a running task (asynq:cancel); it fails with "context canceled"."""
        job = self._inflight.get(task_id)
        if job is None:
            return False
        return self._abandon(job, TaskCanceledError())

    # -- the I/O loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self._run_loop()
        except Exception:  # a bug must not leave a silent worker; the server logs and exits
            log.exception("processor loop crashed")
        finally:
            self._claims_ended.set()
            self._exited.set()
            self._armed.set()
            self._watch_wake.set()

    def _run_loop(self) -> None:
        unacked: list[Ack] = []
        idle = False
        arm_at = math.inf  # when to arm the waiters, while held tasks run and the queues are empty
        backoff = Backoff(first=0.05, cap=2.0)
        while True:
            stopping = self._stopping.is_set()
            halted = self._claims_stopped.is_set()
            if halted and not self._claims_ended.is_set():
                # Between two turns no claim is under way, and none starts from here on.
                self._claims_ended.set()
            free = self.concurrency - len(self._inflight) + len(unacked)
            wants_claim = not halted and free > 0 and not idle
            if not unacked and not wants_claim:
                if stopping and not self._inflight:
                    return
                if halted and self._burst and not self._inflight:
                    return  # a burst run that takes nothing more is over
                if idle and free > 0 and not halted:
                    if self._burst and not self._inflight:
                        try:
                            forwarded = self.on_idle() if self.on_idle is not None else 0
                        except QueueCoreError as exc:
                            log.warning("processor: could not forward due tasks (%s)", exc)
                            time.sleep(backoff.next_delay())
                            continue
                        except Exception:
                            log.exception("processor: forwarding due tasks failed")
                            time.sleep(backoff.next_delay())
                            continue
                        if forwarded == 0:
                            return
                        idle = False
                        continue
                    if self._can_wait_here():
                        # Nothing held, so no outcome can arrive: block on the list ourselves
                        # and claim in the same round trip (the latency of an idle worker).
                        self._armed.clear()
                        idle = not self._wait_here()
                        continue
                    if arm_at == math.inf and not self._armed.is_set():
                        # Quick handlers finish before a waiter would help: arm it only when
                        # nothing came back for ARM_DELAY_SECONDS (its wake-up costs the GIL).
                        arm_at = self.clock.monotonic() + ARM_DELAY_SECONDS
                timeout = self.config.idle_poll_interval
                if stopping:
                    timeout = max(0.0, min(timeout, self._stop_deadline - self.clock.monotonic()))
                queued = self._work.waiting_since()
                now = self.clock.monotonic()
                stall = math.inf if queued is None else queued + STALL_SECONDS - now
                arm = arm_at - now
                if min(stall, arm) < timeout:
                    first = min(stall, arm)
                    woke = self._collect(unacked, first) if first > 0 else None
                    if woke is None:
                        if stall <= first:
                            self._work.unstick()  # the awake runners are held up: slow handlers
                        if arm <= first:
                            arm_at = math.inf
                            self._armed.set()
                        continue
                else:
                    woke = self._collect(unacked, timeout)
                if woke is None or woke is _WAKE:
                    idle = False  # a wake-up or the periodic re-check: look at the queues
                elif not stopping:
                    self._coalesce(unacked)
            else:
                self._collect(unacked, None)
            if stopping and self._inflight and self.clock.monotonic() >= self._stop_deadline:
                self._requeue_unfinished(unacked)
            arm_at = math.inf
            try:
                got, asked = self._turn(unacked)
            except RedisUnavailableError as exc:
                delay = backoff.next_delay()
                log.warning("processor: Redis unavailable (%s); retrying in %.2fs", exc, delay)
                mark_resent(unacked)
                self._drop_expired(unacked)
                if stopping and self.clock.monotonic() >= self._stop_deadline:
                    # Nothing more can be written; the tasks stay active in Redis and are
                    # recovered by any server once their leases run out.
                    for ack in unacked:
                        self._inflight.pop(ack.job.msg.id, None)
                    unacked.clear()
                    if not [j for j in self._inflight.values() if not j.finished]:
                        self._inflight.clear()
                time.sleep(delay)
                continue
            except Exception:
                # A reply we did not expect (an OOM error, a script bug): log, back off, go on;
                # unwritten outcomes stay queued and the tasks stay leased in Redis.
                delay = backoff.next_delay()
                log.exception("processor: turn failed; retrying in %.2fs", delay)
                mark_resent(unacked)
                self._drop_expired(unacked)
                time.sleep(delay)
                continue
            backoff.reset()
            if asked:
                idle = got < asked

    def _can_wait_here(self) -> bool:
        return (
            self.config.block_for_tasks
            and not self._burst
            and len(self.queues) == 1
            and not self._inflight
            and not self._paused
        )

    def _wait_here(self) -> bool:
        """Wait for the single queue's next task and claim it in the same round trip.

        True when the queue may hold more (a full claim), False when it looks empty again.
        """
        (qname,) = self.queues
        asked = min(self.concurrency, self.claim_batch)
        now = self.clock.now()
        lease_expiry = int(now) + self.config.lease_duration
        try:
            msgs = self.store.wait_and_dequeue(
                qname, min(1.0, self.config.idle_poll_interval), lease_expiry, asked, now
            )
        except RedisUnavailableError as exc:
            log.warning("processor: Redis unavailable (%s)", exc)
            time.sleep(0.5)
            return False
        except MalformedDataError as exc:
            self._report_broken_queue(qname, exc)
            time.sleep(self.config.idle_poll_interval)
            return False
        except Exception:
            log.exception("processor: waiting for tasks failed; retrying in 0.5s")
            time.sleep(0.5)
            return False
        return self._dispatch(qname, msgs, self.clock.now(), lease_expiry) >= asked

    def _coalesce(self, unacked: list[Ack]) -> None:
        """Give the other running handlers a moment to finish, so one turn serves them all.

        A turn costs a round trip whatever it carries; quick handlers finishing a few hundred
        microseconds apart would otherwise each pay one. Waits at most ``COALESCE_SECONDS`` and
        only while some held task is still running — on one lock the last of them releases, not
        on each outcome (every wake-up of this thread costs the runners the GIL).
        """
        with self._finish_lock:
            waiting = self._unfinished > 0
            self._coalescing = waiting
        if waiting:
            released = self._all_finished.acquire(timeout=COALESCE_SECONDS)
            if not released:
                with self._finish_lock:
                    released = not self._coalescing  # the last one finished just now
                    self._coalescing = False
                if released:
                    self._all_finished.acquire()
        if self._collect(unacked, None) is _WAKE:
            self._outcomes.put(_WAKE)  # not ours to swallow: the loop looks at it next

    def _collect(self, unacked: list[Ack], timeout: float | None) -> object:
        """Turn finished handlers into decided acks; with a timeout, block for the first one.

        Returns the first item taken when blocking (``_WAKE``, an outcome), or None on timeout.
        """
        outcomes = self._outcomes
        first: object = None
        if timeout is not None:
            try:
                first = outcomes.get(timeout=timeout)
            except queue_module.Empty:
                return None
            if first is not _WAKE:
                unacked.append(self._decider.decide(*first))  # type: ignore[misc]
        while True:
            try:
                item = outcomes.get_nowait()
            except queue_module.Empty:
                return first
            if item is not _WAKE:
                unacked.append(self._decider.decide(*item))

    def _turn(self, unacked: list[Ack]) -> tuple[int, int]:
        """One pipeline: write the acks, claim for the free slots. Returns (claimed, asked)."""
        now = self.clock.now()
        self._drop_expired(unacked, now)
        free = self.concurrency - len(self._inflight) + len(unacked)
        asked = 0
        order: list[str] = []
        if not self._claims_stopped.is_set() and free > 0:
            asked = min(free, self.claim_batch)
            order = queue_order(self.queues, self.config.strict_priority)
        batch = self.store.batch()
        plan = add_acks(batch, unacked, self._inflight, now)
        lease_expiry = int(now) + self.config.lease_duration
        claim_index = batch.dequeue(order[0], lease_expiry, asked, now) if asked else -1
        if len(batch) == 0:
            return 0, 0
        results = batch.execute()
        unwritten, written = settle(plan, results, self._inflight)
        self.processed += written
        unacked[:] = unwritten
        got = 0
        # On a Redis Cluster, a queue whose node is down must not stop the claim from the queues
        # of healthy nodes: skip it, and back off only when no queue gave anything. (On one
        # server every queue is behind the same connection: stop at the first failure.)
        unreachable: RedisUnavailableError | None = None
        if claim_index >= 0:
            claimed = results[claim_index]
            if isinstance(claimed, RedisUnavailableError) and self.store.is_cluster:
                unreachable = claimed
            elif isinstance(claimed, MalformedDataError):
                self._report_broken_queue(order[0], claimed)
            elif isinstance(claimed, QueueCoreError):
                raise claimed
            else:
                got = self._dispatch(order[0], claimed, now, lease_expiry)
            for qname in order[1:]:
                if got >= asked:
                    break
                try:
                    more = self.store.dequeue(qname, lease_expiry, asked - got, now)
                except RedisUnavailableError as exc:
                    if not self.store.is_cluster:
                        raise
                    unreachable = unreachable or exc
                    continue
                except MalformedDataError as exc:
                    self._report_broken_queue(qname, exc)
                    continue
                got += self._dispatch(qname, more, now, lease_expiry)
        if unwritten:
            # Back off before sending them again (the loop's Redis-unavailable path).
            raise RedisUnavailableError(f"{len(unwritten)} acknowledgements not written")
        if unreachable is not None and got == 0:
            raise unreachable
        return (got, asked) if claim_index >= 0 else (0, 0)

    def _report_broken_queue(self, qname: str, error: MalformedDataError) -> None:
        """A queue whose keys have a foreign type gives nothing; the others are still claimed.

        Logged once a minute per queue (the health findings report it too), not every turn.
        """
        now = self.clock.monotonic()
        if now >= self._broken_logged.get(qname, -math.inf) + 60.0:
            self._broken_logged[qname] = now
            log.error("processor: cannot claim from queue %r: %s", qname, error)

    def _drop_expired(self, unacked: list[Ack], now: float | None = None) -> None:
        drop_expired(unacked, self._inflight, self.clock.now() if now is None else now)

    def _dispatch(
        self, qname: str, msgs: list[TaskMessage] | None, now: float, lease_expiry: float
    ) -> int:
        if msgs is None:
            self._paused.add(qname)
            return 0
        self._paused.discard(qname)
        store = self.store
        match = self.mux.match
        watch_next = self._watch_next
        runnable: list[Job] = []
        for msg in msgs:
            deadline = processing_deadline(now, msg.timeout, msg.deadline)
            task = HandlerTask(msg, deadline, store)
            handler = match(msg.type)
            job = Job(msg, task, handler, now, deadline, lease_expiry)
            self._inflight[msg.id] = job
            if handler is None:
                job.finished = True
                self._outcomes.put((job, HandlerNotFoundError(msg.type)))
            elif handler.is_async:
                with self._finish_lock:
                    self._unfinished += 1
                self._handlers.submit_async(job)
            else:
                runnable.append(job)
            if deadline < watch_next:
                watch_next = deadline
                self._watch_next = deadline
                self._watch_wake.set()
        if runnable:
            with self._finish_lock:
                self._unfinished += len(runnable)
            self._work.put_many(runnable)
        return len(msgs)

    # -- finishing, abandoning ------------------------------------------------------------------

    def _finish(self, job: Job, error: BaseException | None) -> None:
        """A handler returned or raised; the first of finish/abandon wins."""
        with self._finish_lock:
            if job.finished:
                return
            job.finished = True
            self._one_finished()
        self._outcomes.put((job, error))

    def _one_finished(self) -> None:
        # Called with _finish_lock held, once per counted job.
        self._unfinished -= 1
        if self._unfinished == 0 and self._coalescing:
            self._coalescing = False
            self._all_finished.release()

    def _abandon(self, job: Job, reason: QueueCoreError) -> bool:
        """End a task's context from outside (deadline, lease, cancel, shutdown)."""
        with self._finish_lock:
            if job.finished:
                return False
            job.finished = True
            self._one_finished()
        job.task._cancel(reason)
        self._handlers.interrupt(job, replace=not self._stopping.is_set())
        self._outcomes.put((job, reason))
        return True

    def _requeue_unfinished(self, unacked: list[Ack]) -> None:
        for job in list(self._inflight.values()):
            if self._abandon(job, ShutdownRequeue()):
                log.warning("quitting worker; requeueing task id=%s", job.msg.id)
        self._collect(unacked, None)

    # -- the watchdog ---------------------------------------------------------------------------

    def check_deadlines(self) -> int:
        """End tasks past their processing deadline or local lease (the watchdog's run_once)."""
        now = self.clock.now()
        ended = 0
        next_wake = math.inf
        for job in list(self._inflight.values()):
            if job.finished:
                continue
            if now >= job.lease_expiry:
                ended += self._abandon(job, LeaseExpiredError())
            elif now >= job.deadline:
                ended += self._abandon(job, DeadlineExceededError())
            else:
                next_wake = min(next_wake, job.deadline, job.lease_expiry)
        self._watch_next = next_wake
        return ended

    def _watchdog_main(self) -> None:
        while not self._exited.is_set():
            self._watch_wake.clear()
            try:
                self.check_deadlines()
            except Exception:
                log.exception("watchdog failed")
            delay = min(max(self._watch_next - self.clock.now(), 0.001), 1.0)
            self._watch_wake.wait(delay)
