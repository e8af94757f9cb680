"""queuecore as a peer of ``../shared/bench`` (``run.py --adapter ours=bench/peer_adapter.py``).

The harness loads this file in its own venv (Python 3.11, no queuecore), so nothing of the project
is imported at module level: the producer subprocess runs with ``producer_python`` = the project's
``.venv`` and imports queuecore in :meth:`connect`; workers are plain argv lists run from the
project root with that same interpreter.

* enqueue: ``Client.enqueue(Task("bench:noop", json_bytes))`` — one pipelined round trip
  (``SADD asynq:queues`` + the enqueue script), exactly Go asynq's keys and protobuf message.
* bulk: ``Client.enqueue_many(tasks)`` — 1000 tasks per call, one pipeline.
* workers: ``manage.py runworker`` (the realistic worker, Django start-up and all) and
  ``bench/worker_app.py`` (the same ``queuecore.Server`` without Django), one or more processes.
"""

from __future__ import annotations

import json
import os
import sys

from peerbench import common
from peerbench.adapters.base import Adapter, WorkerConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
TASK_TYPE = "bench:noop"


class QueuecoreAdapter(Adapter):
    """``worker``: "runworker" (1 proc = ``manage.py runworker``) or "app" (bench/worker_app.py)."""

    name = "ours"
    has_bulk = True
    bulk_batch = 1000
    version_of = "queuecore"
    producer_python = PYTHON
    notes = (
        "asynq v0.26 wire format (protobuf TaskMessage, asynq:{q}:* keys, Lua); tasks deleted on "
        "success (retention 0, as Go asynq); worker = queuecore.Server (manage.py runworker, or "
        "bench/worker_app.py without Django)"
    )

    def __init__(self, worker: str = "runworker", best: str = "rw-p4") -> None:
        self.worker = worker
        self.best = best

    # --- producer side --------------------------------------------------------------------------
    def connect(self) -> None:
        if ROOT not in sys.path:
            sys.path.insert(0, ROOT)
        from queuecore.client import Client, Task

        self._task_cls = Task
        self.client = Client.from_url(common.REDIS_URL)

    def enqueue(self, payload: dict) -> None:
        self.client.enqueue(self._task_cls(TASK_TYPE, json.dumps(payload).encode()))

    def enqueue_bulk(self, payloads: list[dict]) -> None:
        task = self._task_cls
        self.client.enqueue_many([task(TASK_TYPE, json.dumps(p).encode()) for p in payloads])

    def close(self) -> None:
        self.client.close()

    # --- worker side ----------------------------------------------------------------------------
    def worker_configs(self, quiet: bool) -> dict[str, WorkerConfig]:
        level = "warning" if quiet else "info"
        env = {
            "REDIS_URL": common.REDIS_URL,
            "LOG_LEVEL": level.upper(),
            "DJANGO_SETTINGS_MODULE": "bench.settings",
        }
        app = [PYTHON, "-m", "bench.worker_app", "--log-level", level]
        rw = [PYTHON, "manage.py", "runworker", "-q", "default", "--log-level", level]

        def cfg(argv: list[str], desc: str, copies: int = 1) -> WorkerConfig:
            return WorkerConfig(argv, copies=copies, env=env, desc=desc, cwd=ROOT)

        c = {
            "rw": cfg(rw, "manage.py runworker (concurrency 10)"),
            "app": cfg(app, "worker_app.py: Server(concurrency=10), no Django"),
        }
        c["1proc"] = c["rw"] if self.worker == "runworker" else c["app"]
        for k in (2, 3, 4):
            c[f"rw-p{k}"] = cfg([*rw, "--processes", str(k)], f"runworker --processes {k}")
            c[f"app-x{k}"] = cfg(app, f"{k}x worker_app.py (concurrency 10)", copies=k)
        for n in (1, 4, 32):
            c[f"app-c{n}"] = cfg([*app, "--concurrency", str(n)], f"worker_app --concurrency {n}")
        return c


ADAPTER = QueuecoreAdapter()
