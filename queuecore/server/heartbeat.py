"""Heartbeat (spec §4.2 W2): server and worker info for dashboards, and lease extension.

Every beat (5 s, once at start, and within 0.25 s of a task starting) writes
``asynq:servers:{sid}`` (ServerInfo, TTL 2 x interval), rebuilds ``asynq:workers:{sid}`` (one
WorkerInfo per in-flight task, full payload included, as Go), registers both in the
``asynq:servers``/``asynq:workers`` zsets, then extends the lease of every held task whose local
lease is still valid (ZADD XX now+30 s). A task whose local lease has run out is not extended: the
processor's watchdog ends it and nothing more is written for it.

``status`` is the server's state as Go names it (``Server.state``): "active" while serving,
"stopped" once it takes no new tasks (SIGTSTP / ``Server.stop_processing()``), "closed" while
it shuts down. The server may call :meth:`Heartbeat.run_once` itself for an immediate write
(beats are serialized); :meth:`Heartbeat.clear` deletes the records at shutdown, as Go's
``ClearServerState``.
"""

from __future__ import annotations

import math
import os
import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from google.protobuf.timestamp_pb2 import Timestamp

from queuecore.clock import Clock
from queuecore.messages import ServerInfo, WorkerInfo
from queuecore.rdb.worker import WorkerStore
from queuecore.server.component import PeriodicComponent

if TYPE_CHECKING:
    from queuecore.server.processor import Processor


def _timestamp(unix: float) -> Timestamp:
    ts = Timestamp()
    seconds = math.floor(unix)
    # A fraction that rounds up to a whole second carries into the seconds.
    carry, ts.nanos = divmod(round((unix - seconds) * 1e9), 1_000_000_000)
    ts.seconds = seconds + carry
    return ts


class ServerIdentity:
    """host:pid:uuid, the name under which this server appears in asynq's registries."""

    def __init__(self, server_id: str, host: str | None = None, pid: int | None = None) -> None:
        self.host = host or socket.gethostname()
        self.pid = os.getpid() if pid is None else pid
        self.server_id = server_id

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.server_id}"


class Heartbeat(PeriodicComponent):
    name = "heartbeat"
    run_at_start = True
    # A task that started since the last beat is written within 0.25 s, not at the next beat
    # (Go waits up to 5 s), so the dashboard's active tab shows Started and Deadline even for
    # tasks of a second or two. Under load that is at most 4 extra beats a second: a few commands.
    early_check = 0.25

    def __init__(
        self,
        store: WorkerStore,
        processor: Processor,
        identity: ServerIdentity,
        clock: Clock,
        *,
        queues: Mapping[str, int],
        concurrency: int,
        strict_priority: bool,
        started: float,
        interval: float = 5.0,
        lease_duration: int = 30,
    ) -> None:
        super().__init__(interval)
        self.store = store
        self.processor = processor
        self.identity = identity
        self.clock = clock
        self.queues = dict(queues)
        self.concurrency = concurrency
        self.strict_priority = strict_priority
        self.started = started
        self.lease_duration = lease_duration
        self.status = "active"
        self.ttl = max(1, math.ceil(2 * interval))
        self._lock = threading.Lock()
        self._written: frozenset[str] = frozenset()

    def server_info(self, active_workers: int) -> ServerInfo:
        info = ServerInfo(
            host=self.identity.host,
            pid=self.identity.pid,
            server_id=self.identity.server_id,
            concurrency=self.concurrency,
            strict_priority=self.strict_priority,
            status=self.status,
            active_worker_count=active_workers,
        )
        info.queues.update(self.queues)
        info.start_time.CopyFrom(_timestamp(self.started))
        return info

    def run_once(self) -> int:
        """Write server/worker info and extend leases; returns how many leases were extended."""
        with self._lock:
            return self._beat()

    def due_early(self) -> bool:
        """True when a task in flight is missing from the worker records last written."""
        return any(job.msg.id not in self._written for job in self.processor.snapshot())

    def _beat(self) -> int:
        now = self.clock.now()
        jobs = self.processor.snapshot()
        workers = []
        for job in jobs:
            msg = job.msg
            worker = WorkerInfo(
                host=self.identity.host,
                pid=self.identity.pid,
                server_id=self.identity.server_id,
                task_id=msg.id,
                task_type=msg.type,
                task_payload=msg.payload,
                queue=msg.queue,
            )
            worker.start_time.CopyFrom(_timestamp(job.started))
            worker.deadline.CopyFrom(_timestamp(job.deadline))
            workers.append(worker)
        self.store.write_server_state(self.server_info(len(jobs)), workers, ttl=self.ttl, now=now)
        self._written = frozenset(job.msg.id for job in jobs)
        # Like Go, the new expiry is fixed before Redis is asked, and only valid leases move.
        expiry = int(now) + self.lease_duration
        valid = [job for job in jobs if now < job.lease_expiry]
        if not valid:
            return 0
        by_queue: dict[str, list[str]] = {}
        for job in valid:
            by_queue.setdefault(job.msg.queue, []).append(job.msg.id)
        self.store.extend_leases(by_queue, expiry)
        self.processor.extend_local_leases(valid, expiry)
        return len(valid)

    def clear(self) -> None:
        with self._lock:
            self.store.clear_server_state(
                self.identity.host, self.identity.pid, self.identity.server_id
            )
