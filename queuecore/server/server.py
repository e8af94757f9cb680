"""The worker Server: composes the processor and the background duties, owns signals/shutdown.

```python
from queuecore import Server, handler

@handler("email:send")
def send_email(task): ...

Server.from_url(url, queues={"critical": 6, "default": 3, "low": 1}, concurrency=10).run()
```

``run()`` blocks until SIGTERM/SIGINT (a second signal requeues in-flight tasks at once);
``run(burst=True)`` returns once the served queues are empty and nothing is in flight (due
scheduled/retry tasks are forwarded first). For embedding (tests, benchmarks): ``start()``,
then ``stop()`` and ``wait()``; everything runs on daemon threads of the calling process.

States, as Go asynq's server (and the ServerInfo ``status`` dashboards show): "new" until
started, "active" while serving, "stopped" after :meth:`Server.stop_processing` — SIGTSTP in
``run()``, as Go's ``Run()`` — (no new task is taken; in-flight ones finish and are acknowledged
as usual; heartbeat, lease extension, forwarder, recoverer and janitor go on), and "closed" from
shutdown on; the server's records are deleted when it has shut down.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from collections.abc import Mapping
from dataclasses import replace
from types import FrameType
from typing import Any

from queuecore.clock import SYSTEM_CLOCK, Clock
from queuecore.errors import QueueCoreError
from queuecore.handlers import ServeMux, default_mux
from queuecore.rdb.settings import RedisSettings
from queuecore.rdb.worker import WorkerStore
from queuecore.server.aggregator import Aggregator, EnqueueFunc
from queuecore.server.config import GroupAggregatorFunc, RetryDelayFunc, ServerConfig
from queuecore.server.forwarder import Forwarder
from queuecore.server.heartbeat import Heartbeat, ServerIdentity
from queuecore.server.janitor import Janitor
from queuecore.server.processor import Processor
from queuecore.server.recoverer import Recoverer
from queuecore.server.subscriber import Subscriber

log = logging.getLogger("queuecore.server")

_UNSET: Any = object()


class Server:
    def __init__(
        self,
        store: WorkerStore,
        config: ServerConfig | None = None,
        *,
        mux: ServeMux | None = None,
        clock: Clock = SYSTEM_CLOCK,
        enqueue: EnqueueFunc | None = None,
        server_id: str | None = None,
        redis_display: str = "",
    ) -> None:
        self.store = store
        self.config = config or ServerConfig()
        self.mux = mux if mux is not None else default_mux
        self.clock = clock
        self.redis_display = redis_display
        self.identity = ServerIdentity(server_id or str(uuid.uuid4()))
        cfg = self.config
        queue_names = list(cfg.queues)
        self.forwarder = Forwarder(store, queue_names, clock, cfg.forwarder_interval)
        self.processor = Processor(store, self.mux, cfg, clock, on_idle=self._before_burst_exit)
        self.heartbeat = Heartbeat(
            store,
            self.processor,
            self.identity,
            clock,
            queues=cfg.queues,
            concurrency=cfg.concurrency,
            strict_priority=cfg.strict_priority,
            started=clock.now(),
            interval=cfg.heartbeat_interval,
            lease_duration=cfg.lease_duration,
        )
        self.recoverer = Recoverer(
            store,
            queue_names,
            clock,
            cfg.recoverer_interval,
            cfg.recoverer_cutoff,
            cfg.retry_delay,
            cfg.is_failure,
        )
        self.janitor = Janitor(
            store, queue_names, clock, cfg.janitor_interval, cfg.janitor_batch_size
        )
        self.subscriber = Subscriber(
            store, self.processor.cancel, retry_interval=cfg.subscriber_retry_interval
        )
        self.aggregator: Aggregator | None = None
        if cfg.group_aggregator is not None:
            self.aggregator = Aggregator(
                store,
                queue_names,
                clock,
                cfg.group_aggregator,
                enqueue or self._default_enqueue,
                grace_period=cfg.group_grace_period,
                max_delay=cfg.group_max_delay,
                max_size=cfg.group_max_size,
                interval=cfg.aggregator_tick,
            )
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._threads: list[threading.Thread] = []
        self._supervisor: threading.Thread | None = None
        self._started = False
        self._signals = 0
        self._state = "new"
        self._state_lock = threading.Lock()
        self._stopper: threading.Thread | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        queues: Mapping[str, int] | None = None,
        concurrency: int = _UNSET,
        strict: bool = _UNSET,
        mux: ServeMux | None = None,
        shutdown_timeout: float = _UNSET,
        clock: Clock = SYSTEM_CLOCK,
        group_aggregator: GroupAggregatorFunc | None = None,
        retry_delay: RetryDelayFunc | None = None,
        config: ServerConfig | None = None,
        **config_fields: Any,
    ) -> Server:
        """A server on the Redis at ``url``. Keyword arguments override ``config``'s fields."""
        overrides: dict[str, Any] = dict(config_fields)
        if queues is not None:
            overrides["queues"] = queues
        if concurrency is not _UNSET:
            overrides["concurrency"] = concurrency
        if strict is not _UNSET:
            overrides["strict_priority"] = strict
        if shutdown_timeout is not _UNSET:
            overrides["shutdown_timeout"] = shutdown_timeout
        if group_aggregator is not None:
            overrides["group_aggregator"] = group_aggregator
        if retry_delay is not None:
            overrides["retry_delay"] = retry_delay
        try:
            final = replace(config, **overrides) if config else ServerConfig(**overrides)
        except TypeError as exc:
            raise QueueCoreError(f"unknown server option: {exc}") from None
        settings = RedisSettings.from_url(url)
        store = WorkerStore(settings.connect())
        return cls(store, final, mux=mux, clock=clock, redis_display=settings.display())

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, *, burst: bool = False) -> None:
        """Start every duty on daemon threads and return at once."""
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        with self._state_lock:
            self._state = "active"
            self.heartbeat.status = "active"
        self.heartbeat.started = self.clock.now()
        try:
            self.subscriber.connect()  # before the first claim, so no cancel is missed
        except QueueCoreError as exc:
            log.warning("could not subscribe to asynq:cancel yet (%s); will retry", exc)
        self._spawn("queuecore-heartbeat", self.heartbeat.run_forever, self._stop)
        self.processor.start(burst=burst)
        self._spawn("queuecore-forwarder", self.forwarder.run_forever, self._stop)
        self._spawn("queuecore-recoverer", self.recoverer.run_forever, self._stop)
        self._spawn("queuecore-janitor", self.janitor.run_forever, self._stop)
        # It notices the stop within its poll timeout (1 s) and closes its subscription.
        self._spawn("queuecore-subscriber", self.subscriber.run_forever, self._stop)
        if self.aggregator is not None:
            self._spawn("queuecore-aggregator", self.aggregator.run_forever, self._stop)
        self._supervisor = threading.Thread(
            target=self._supervise, name="queuecore-server", daemon=True
        )
        self._supervisor.start()

    def run(self, *, burst: bool = False) -> None:
        """Serve until SIGTERM/SIGINT (or, with ``burst``, until the queues are empty).

        SIGTSTP (Ctrl-Z in a terminal, as with Go asynq) calls :meth:`stop_processing` instead
        of suspending the process; SIGTERM/SIGINT then shut down as usual.
        """
        restore = self._install_signal_handlers()
        try:
            self.start(burst=burst)
            while not self._finished.wait(0.5):
                pass
        finally:
            for signum, previous in restore.items():
                signal.signal(signum, previous)

    def stop(self, timeout: float | None = None) -> None:
        """Shut down: stop claiming; in-flight handlers get ``timeout`` (shutdown_timeout) s to
        finish, then are requeued. See :meth:`stop_processing` to only stop taking new tasks."""
        self._close()
        self.processor.stop(timeout)

    def stop_processing(self, timeout: float = 10.0) -> bool:
        """Take no new task, keep running: asynq's ``Server.Stop()`` (what SIGTSTP does).

        In-flight tasks run to their end with no deadline and are acknowledged as usual
        (completed, retried, archived — not requeued); the heartbeat (and lease extension),
        forwarder, recoverer, janitor, aggregator and cancel subscriber go on. The server's
        ServerInfo status becomes "stopped", written at once. Call :meth:`stop` (or send SIGTERM)
        to shut down afterwards. Only an active server stops; otherwise this does nothing.

        Blocks until the processor confirms that no claim is under way (a claim that had begun
        completes and its tasks run) — at most ``timeout`` s. Returns True once confirmed.
        """
        return self._stop_processing(timeout, announce=True)

    @property
    def state(self) -> str:
        """One of "new", "active", "stopped" (taking no new task) or "closed" (shut down)."""
        return self._state

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the server has fully shut down: every thread it started has ended.

        (Except a runner whose handler ignored its cancellation: it ends when the handler does.)
        """
        if not self._finished.wait(timeout):
            return False
        supervisor = self._supervisor
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join()  # it has set _finished; only its return is left
        return True

    def shutdown(self, timeout: float | None = None) -> None:
        self.stop(timeout)
        self.wait()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _stop_processing(self, timeout: float, *, announce: bool) -> bool:
        with self._state_lock:
            if self._state != "active":
                return False
            self._state = "stopped"
        if announce:
            log.info(
                "stopping processing: no new tasks are taken; %d in-flight task(s) finish as usual",
                len(self.processor.snapshot()),
            )
        self.processor.stop_claiming()
        confirmed = self.processor.wait_claims_stopped(timeout)
        with self._state_lock:
            if self._state != "stopped":
                return confirmed  # a shutdown overtook us; its status stands
            self.heartbeat.status = "stopped"
        try:
            self.heartbeat.run_once()  # dashboards show it now, not at the next beat
        except QueueCoreError as exc:
            log.warning("could not write the stopped status yet (%s); the next beat will", exc)
        return confirmed

    def _close(self) -> None:
        # Go writes "closed" from Shutdown() until its records are deleted at the end.
        with self._state_lock:
            self._state = "closed"
            self.heartbeat.status = "closed"

    def _supervise(self) -> None:
        self.processor.wait()
        self._close()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=3.0)
        stopper = self._stopper
        if stopper is not None:
            stopper.join(timeout=5.0)  # its status write must not land after the clear below
        try:
            self.heartbeat.clear()
        except QueueCoreError as exc:
            log.warning("could not clear server state (%s); it expires by itself", exc)
        self.processor.close()
        self.processor.join(timeout=5.0)
        if self._client is not None:
            self._client.close()
        log.info(
            "server %s stopped; %d tasks processed, %d unreadable records quarantined",
            self.identity,
            self.processor.processed,
            self.store.poison.total(),
        )
        self._finished.set()

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        restore: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            restore[signum] = signal.signal(signum, self._on_signal)
        restore[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, self._on_stop_signal)
        return restore

    def _on_stop_signal(self, _signum: int, _frame: FrameType | None) -> None:
        if self._state != "active" or self._stopper is not None:
            # Ctrl-Z under `runworker --processes N` reaches a child twice: from the terminal
            # and forwarded by the parent.
            log.debug("got SIGTSTP: the server is %s; nothing to stop", self._state)
            return
        log.info(
            "got SIGTSTP: taking no new tasks; in-flight tasks finish as usual. "
            "Send SIGTERM or SIGINT to shut down"
        )
        # Off the main thread: waiting for the processor must not hold up a SIGTERM after this.
        self._stopper = threading.Thread(
            target=self._stop_processing,
            args=(10.0,),
            kwargs={"announce": False},
            name="queuecore-stopper",
            daemon=True,
        )
        self._stopper.start()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals == 1:
            log.info(
                "got %s: stopping; in-flight tasks get %ss before they are requeued",
                signal.Signals(signum).name,
                self.config.shutdown_timeout,
            )
            self.stop()
        else:
            log.warning("second signal: requeueing in-flight tasks now")
            self._close()
            self.processor.stop_now()

    def _before_burst_exit(self) -> int:
        """Burst mode asks this when the queues look empty: tasks made ready now, if any."""
        ready = self.forwarder.run_once()
        if self.aggregator is not None:
            ready += self.aggregator.run_once()  # groups whose grace period has passed
        return ready

    def _default_enqueue(self, task: Any, queue: str) -> Any:
        # Aggregation passes may overlap (asynq allows 3 at once): make the one client once.
        with self._client_lock:
            if self._client is None:
                from queuecore.client import Client

                self._client = Client(self.store.client, clock=self.clock)
        return self._client.enqueue(task, queue=queue)
