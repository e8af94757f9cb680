"""A worker process for crash-safety tests: ``python -m tests.support.crash_worker URL [burst]``.

Its handler records each task id in the set ``crash:handled`` (test bookkeeping, outside asynq's
keys) and takes a few milliseconds, so a SIGKILL lands while tasks are in flight. Leases,
heartbeat and recovery are shortened so a killed worker's tasks come back within seconds.
"""

from __future__ import annotations

import logging
import sys
import time

import redis

from queuecore.handlers import HandlerTask, ServeMux
from queuecore.server import Server

HANDLED_KEY = "crash:handled"
TASK_TYPE = "crash:task"

FAST_RECOVERY = {
    "lease_duration": 2,
    "heartbeat_interval": 0.5,
    "recoverer_interval": 0.5,
    "recoverer_cutoff": 0.5,
    "forwarder_interval": 0.2,
    "shutdown_timeout": 5.0,
}


def main(argv: list[str]) -> int:
    url = argv[1]
    burst = len(argv) > 2 and argv[2] == "burst"
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    recorder = redis.Redis.from_url(url)
    mux = ServeMux()

    def record(task: HandlerTask) -> None:
        time.sleep(0.003)  # simulated work, so tasks are in flight when the kill comes
        recorder.sadd(HANDLED_KEY, task.id)

    mux.register(TASK_TYPE, record)
    server = Server.from_url(
        url, mux=mux, concurrency=10, retry_delay=lambda n, e, t: 0, **FAST_RECOVERY
    )
    server.run(burst=burst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
