"""Worker throughput against a 3-master Redis Cluster, with 1, 2 and 4 worker processes.

    .venv/bin/python -m bench.cluster_bench                 # 12000 tasks, 1/2/4 processes
    .venv/bin/python -m bench.cluster_bench --tasks 6000 --processes 1,2 --reps 2
    .venv/bin/python -m bench.cluster_bench --cluster-url redis-cluster://h:7000  # your cluster

It starts its own cluster (``redis-server --cluster-enabled yes`` x3 on free ports, joined by
``redis-cli --cluster create``) and, for comparison, one plain ``redis-server``, unless URLs are
given. For each setup and process count it flushes the data, enqueues the tasks (a no-op handler's
type) spread evenly over six queues — two per master on the cluster — starts the worker processes
(``queuecore.Server`` in burst mode, the code ``runworker --burst`` runs), waits until every one is
ready, releases them together and times until the last one exits with the queues empty. Printed:
one table row per run with tasks/s and the ratio to the same process count on the single server.
The machine's core count bounds what more processes can gain.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from queuecore.client import Client, Task  # noqa: E402
from queuecore.rdb.base import RedisStore  # noqa: E402

READY_KEY = "bench:{cluster}:ready"
GO_KEY = "bench:{cluster}:go"
TASK_TYPE = "bench:noop"


# -- the worker process ----------------------------------------------------------------------------


def worker_main(url: str, queues: list[str], concurrency: int) -> None:
    """One worker process: signal ready, wait for the go key, serve in burst mode, exit."""
    from queuecore.handlers import ServeMux
    from queuecore.server import Server

    mux = ServeMux()
    mux.register(TASK_TYPE, lambda task: None)
    server = Server.from_url(url, queues=dict.fromkeys(queues, 1), concurrency=concurrency, mux=mux)
    store = RedisStore.from_url(url)
    store.client.incr(READY_KEY)
    while not store.client.exists(GO_KEY):
        time.sleep(0.005)
    server.start(burst=True)
    server.wait()


# -- the driver ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Result:
    setup: str
    processes: int
    tasks: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds if self.seconds else 0.0


def queue_names(url: str, count: int = 6) -> list[str]:
    """``count`` queues; on a cluster, spread evenly over the masters by their slots."""
    store = RedisStore.from_url(url)
    if not store.is_cluster:
        return [f"bench{i}" for i in range(count)]
    from queuecore.rdb.cluster import queue_locations

    cluster = store.client
    masters = sorted({f"{n.host}:{n.port}" for n in cluster.get_primaries()})  # type: ignore[union-attr]
    per_master = max(1, count // len(masters))
    wanted = dict.fromkeys(masters, per_master)
    chosen: list[str] = []
    index = 0
    while any(wanted.values()) and index < 10_000:
        name = f"bench{index}"
        index += 1
        node = queue_locations(cluster, [name])[0].node  # type: ignore[arg-type]
        if wanted.get(node):
            wanted[node] -= 1
            chosen.append(name)
    return chosen


def flush(url: str) -> None:
    store = RedisStore.from_url(url)
    store.client.flushall()
    store.client.close()


def run_once(
    url: str, setup: str, queues: list[str], tasks: int, processes: int, concurrency: int
) -> Result:
    flush(url)
    with Client.from_url(url) as client:
        batch = [
            Task(TASK_TYPE, b"").with_options(queue=queues[i % len(queues)]) for i in range(tasks)
        ]
        for start in range(0, len(batch), 2000):
            client.enqueue_many(batch[start : start + 2000])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.cluster_bench",
                "--worker",
                "--url",
                url,
                "--queues",
                ",".join(queues),
                "--concurrency",
                str(concurrency),
            ],
            cwd=ROOT,
            env=env,
        )
        for _ in range(processes)
    ]
    store = RedisStore.from_url(url)
    try:
        deadline = time.monotonic() + 60
        while int(store.client.get(READY_KEY) or 0) < processes:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError("worker processes did not get ready")
            time.sleep(0.01)
        started = time.perf_counter()
        store.client.set(GO_KEY, "1")
        for worker in workers:
            worker.wait(600)
        seconds = time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    left = pending_left(url, queues)
    if left:
        raise RuntimeError(f"{left} tasks were left unprocessed")
    return Result(setup=setup, processes=processes, tasks=tasks, seconds=seconds)


def pending_left(url: str, queues: list[str]) -> int:
    from queuecore.inspector import Inspector

    with Inspector.from_url(url) as inspector:
        return sum(inspector.get_queue_info(q, cheap=True).pending for q in queues)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=12_000)
    parser.add_argument("--processes", default="1,2,4", help="comma list of process counts")
    parser.add_argument("--concurrency", type=int, default=10, help="handlers per process")
    parser.add_argument("--reps", type=int, default=1, help="repetitions; the median is shown")
    parser.add_argument("--cluster-url", default=None, help="an existing cluster to use")
    parser.add_argument("--single-url", default=None, help="an existing single Redis to use")
    parser.add_argument("--no-single", action="store_true", help="skip the single-server rows")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--queues", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.url, args.queues.split(","), args.concurrency)
        return

    from tests.support.cluster import start_cluster
    from tests.support.redis_server import start_redis

    counts = [int(p) for p in args.processes.split(",")]
    started = []
    try:
        setups: list[tuple[str, str]] = []
        if not args.no_single:
            if args.single_url:
                setups.append(("single", args.single_url))
            else:
                single = start_redis()
                started.append(single)
                setups.append(("single", single.url))
        if args.cluster_url:
            setups.append(("cluster x3", args.cluster_url))
        else:
            cluster = start_cluster(3)
            started.append(cluster)
            setups.append(("cluster x3", cluster.url))
        results: dict[tuple[str, int], Result] = {}
        for name, url in setups:
            queues = queue_names(url)
            for count in counts:
                runs = [
                    run_once(url, name, queues, args.tasks, count, args.concurrency)
                    for _ in range(args.reps)
                ]
                median = statistics.median(r.seconds for r in runs)
                results[(name, count)] = Result(
                    setup=name, processes=count, tasks=args.tasks, seconds=median
                )
                print(
                    f"  {name:<11} {count} proc: {results[(name, count)].rate:8.0f} tasks/s",
                    flush=True,
                )
        print()
        print(
            f"Worker throughput, {args.tasks} no-op tasks over 6 queues, concurrency "
            f"{args.concurrency}/process, median of {args.reps}, {os.cpu_count()} CPUs"
        )
        print()
        print("| setup | processes | seconds | tasks/s | vs single, same processes |")
        print("|---|---:|---:|---:|---:|")
        for (name, count), result in results.items():
            base = results.get(("single", count))
            ratio = f"{result.rate / base.rate:.2f}x" if base and name != "single" else "-"
            print(f"| {name} | {count} | {result.seconds:.2f} | {result.rate:.0f} | {ratio} |")
    finally:
        for thing in started:
            thing.stop()


if __name__ == "__main__":
    main()
