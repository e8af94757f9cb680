"""Go asynq v0.26.0 as a peer (``run.py --adapter go=bench/peer_adapter_go.py``).

Both sides are one Go program, ``bench/go/main.go``, built by ``bench/run`` with the asynq lab's
``build.sh --src`` into ``$ASYNQBENCH_BIN`` (default ``bench/.peerbench/asynqbench``):

* producer: the harness runs ``producer_python -m peerbench.producer go MODE N [RATE]``; here
  ``producer_python`` is that binary, which answers the same command line (single ``Enqueue``
  calls timed in Go, one ``asynq.Client``, connection opened outside the timed loop) and prints
  the same ``{"n", "seconds"}`` line. asynq v0.26 has no batch enqueue, so there is no bulk figure.
* workers: ``asynqbench work``, an ``asynq.Server`` whose no-op handler appends the harness's
  completion record first thing, like ``common.mark``. "1 proc" is Go's default concurrency
  (``runtime.NumCPU()``); the others are candidates for ``--sweep``.
"""

from __future__ import annotations

import os

from peerbench import common
from peerbench.adapters.base import Adapter, WorkerConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.environ.get("ASYNQBENCH_BIN", os.path.join(ROOT, "bench", ".peerbench", "asynqbench"))


class GoAsynqAdapter(Adapter):
    name = "go"
    has_bulk = False
    best = "x2-c10"
    version_of = ""
    producer_python = BINARY
    notes = (
        "Go asynq v0.26.0 (github.com/hibiken/asynq, vendored in ../shared/asynq-lab, Go 1.23); "
        "producer and worker are bench/go/main.go; same keys and messages as ours; tasks deleted "
        "on success; idle poll = asynq's TaskCheckInterval (1 s), which sets its latency"
    )

    def connect(self) -> None:  # the producer is the Go binary: these never run in Python
        raise RuntimeError("the go peer's producer is bench/go (producer_python)")

    def enqueue(self, payload: dict) -> None:
        raise RuntimeError("the go peer's producer is bench/go (producer_python)")

    def worker_configs(self, quiet: bool) -> dict[str, WorkerConfig]:
        env = {
            "PEERBENCH_REDIS_HOST": common.REDIS_HOST,
            "PEERBENCH_REDIS_PORT": str(common.REDIS_PORT),
        }

        def cfg(argv: list[str], desc: str, copies: int = 1) -> WorkerConfig:
            return WorkerConfig([BINARY, "work", *argv], copies=copies, env=env, desc=desc)

        c = {"1proc": cfg([], "asynq.Server, default concurrency (NumCPU)")}
        for n in (4, 10, 20, 50):
            c[f"c{n}"] = cfg(["-concurrency", str(n)], f"asynq.Server, Concurrency {n}")
        c["x2"] = cfg([], "2 processes, default concurrency", copies=2)
        c["x2-c10"] = cfg(["-concurrency", "10"], "2 processes, Concurrency 10", copies=2)
        return c


ADAPTER = GoAsynqAdapter()
