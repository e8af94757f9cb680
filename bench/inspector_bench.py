"""Inspector benchmark: pages, overview, search and "all" actions on a queue of 1,000,000 tasks.

Run: ``.venv/bin/python bench/inspector_bench.py`` (starts its own redis-server on a free port).

Fills queue ``big`` with 1,000,000 pending tasks and 100,000 archived tasks (raw writes, exactly
as asynq leaves them), plus 100 small queues of 5 tasks each, then times the reads a dashboard
makes and a ``run_all`` over the 100,000 archived tasks. The longest single Redis call during
``run_all`` is read from the server's SLOWLOG (server-side execution time of each command).
Targets (issue #4): every page and the overview <= 50 ms regardless of queue size; no single
Redis call over 50 ms during an "all" action.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from queuecore import keys
from queuecore.inspector import Inspector
from queuecore.messages import TaskMessage, encode_task_message
from queuecore.taskinfo import TaskState

TARGET_MS = 50.0
BIG = "big"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis() -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="qc-bench-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                sys.exit("redis-server did not start")
            time.sleep(0.05)
    return proc, port


def fill(client: redis.Redis, pending: int, archived: int, small_queues: int, now: int) -> str:
    """Returns the id of a task in the middle of the big pending list."""
    template = TaskMessage(type="email:send", queue=BIG, retry=25, timeout=1800)
    batch = 10_000
    middle_id = ""
    since = str(now * 1_000_000_000).encode()
    for state, count in (("pending", pending), ("archived", archived)):
        for start in range(0, count, batch):
            pipe = client.pipeline(transaction=False)
            ids = []
            for i in range(start, min(start + batch, count)):
                tid = f"{state[0]}-{i:07d}-{uuid.uuid4().hex[:8]}"
                ids.append(tid)
                template.id = tid
                template.payload = b'{"user_id": %d, "to": "user%d@example.com"}' % (i, i)
                fields = {b"msg": encode_task_message(template), b"state": state.encode()}
                if state == "pending":
                    fields[b"pending_since"] = since
                else:
                    template.error_msg = "smtp: 421 service not available"
                pipe.hset(keys.task_key(BIG, tid), mapping=fields)
            if state == "pending":
                pipe.lpush(keys.pending_key(BIG), *ids)
                if start <= count // 2 < start + batch:
                    middle_id = ids[count // 2 - start]
            else:
                pipe.zadd(
                    keys.archived_key(BIG), {tid: now - 1000 + j for j, tid in enumerate(ids)}
                )
            pipe.execute()
        template.error_msg = ""
    pipe = client.pipeline(transaction=False)
    pipe.sadd(keys.ALL_QUEUES, BIG)
    for q in range(small_queues):
        name = f"small-{q:03d}"
        pipe.sadd(keys.ALL_QUEUES, name)
        for i in range(5):
            msg = TaskMessage(type="ping", queue=name, id=f"{name}-{i}", retry=25, timeout=1800)
            pipe.hset(
                keys.task_key(name, msg.id),
                mapping={
                    "msg": encode_task_message(msg),
                    "state": "pending",
                    "pending_since": since,
                },
            )
            pipe.lpush(keys.pending_key(name), msg.id)
    pipe.execute()
    return middle_id


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time in ms over ``repeat`` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--archived", type=int, default=100_000)
    parser.add_argument("--queues", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()

    proc, port = start_redis()
    try:
        client = redis.Redis(port=port)
        now = int(time.time())
        t0 = time.perf_counter()
        middle_id = fill(client, opts.pending, opts.archived, opts.queues, now)
        fill_s = time.perf_counter() - t0
        print(
            f"filled {opts.pending:,} pending + {opts.archived:,} archived in {BIG!r} and "
            f"{opts.queues} small queues in {fill_s:.1f}s; "
            f"redis used_memory={client.info('memory')['used_memory_human']}"
        )
        insp = Inspector.from_url(f"redis://127.0.0.1:{port}/0")
        pending_pages = (opts.pending + 29) // 30
        archived_pages = (opts.archived + 29) // 30
        rows: list[tuple[str, float, bool]] = []

        def measure(name: str, fn: Callable[[], object], targeted: bool = True) -> None:
            rows.append((name, timed(fn, opts.repeat), targeted))

        measure(f"overview, cheap ({opts.queues + 1} queues)", lambda: insp.overview(cheap=True))
        measure("get_queue_info(big, cheap)", lambda: insp.get_queue_info(BIG, cheap=True))
        measure(
            "get_queue_info(big) Go mode (MEMORY USAGE)",
            lambda: insp.get_queue_info(BIG),
            targeted=False,
        )
        for state, pages in (
            (TaskState.PENDING, pending_pages),
            (TaskState.ARCHIVED, archived_pages),
        ):
            for label, page in (("1", 1), ("middle", pages // 2), ("last", pages)):
                measure(
                    f"list {state.value} page {label} (of {pages:,})",
                    lambda s=state, p=page: insp.list_tasks(BIG, s, page=p),
                )
        measure("get_task_info (middle of pending)", lambda: insp.get_task_info(BIG, middle_id))
        measure(
            "search pending, budget 10,000 (no match)",
            lambda: insp.search(BIG, TaskState.PENDING, text="no-such-text", budget=10_000),
            targeted=False,
        )
        breakdown_ms = timed(
            lambda: insp.breakdown(BIG, TaskState.ARCHIVED, budget=opts.archived), opts.repeat
        )
        rows.append((f"breakdown archived ({opts.archived:,} tasks), total", breakdown_ms, False))
        rows.append(("  per 10,000 tasks scanned", breakdown_ms * 10_000 / opts.archived, False))

        # run_all over the archived tasks: wall time, and the longest single command server-side.
        client.config_set("slowlog-log-slower-than", 0)
        client.config_set("slowlog-max-len", 100_000)
        client.slowlog_reset()
        gaps: list[float] = []
        last = [time.perf_counter()]

        def progress(_done: int, _total: int) -> None:
            current = time.perf_counter()
            gaps.append((current - last[0]) * 1000)
            last[0] = current

        start = time.perf_counter()
        moved = insp.run_all(BIG, TaskState.ARCHIVED, progress=progress)
        run_all_ms = (time.perf_counter() - start) * 1000
        slowest = client.slowlog_get(100_000)
        client.config_set("slowlog-log-slower-than", 10_000)
        longest_us = max((entry["duration"] for entry in slowest), default=0)
        longest_cmd = next((e["command"] for e in slowest if e["duration"] == longest_us), b"")
        rows.append((f"run_all archived ({moved:,} tasks), total", run_all_ms, False))
        rows.append(("  longest single Redis call (SLOWLOG)", longest_us / 1000, True))
        rows.append(("  longest chunk incl. round trip (client)", max(gaps, default=0), True))
        insp.close()

        width = max(len(r[0]) for r in rows) + 2
        print()
        print(f"{'operation'.ljust(width)}{'ms':>10}  target")
        print(f"{'-' * (width - 2)}  {'-' * 8}  ------")
        for name, ms, targeted in rows:
            verdict = ("ok" if ms <= TARGET_MS else "OVER") if targeted else "-"
            print(f"{name.ljust(width)}{ms:>10.2f}  {verdict}")
        print()
        command = (
            longest_cmd.decode(errors="replace")[:80]
            if isinstance(longest_cmd, bytes)
            else str(longest_cmd)[:80]
        )
        print(f"longest call: {command}")
        print(f"chunks of {insp.chunk_size} ids; medians of {opts.repeat} runs")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
