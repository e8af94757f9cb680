"""The dashboard under load: 50 logged-in clients browsing for 60 s while tasks flow.

    .venv/bin/python bench/load_dashboard.py [--clients 50] [--seconds 60] [--think 1]

It starts the whole thing the way ``scripts/run`` does (its own Redis, the scheduler, a worker,
gunicorn with ``gunicorn.conf.py``, the demo enqueuer) on free ports in a temporary directory, with
``DEBUG=0``. Each client logs in through the login form, then loops over a mix of
pages a person watching queues opens: the overview, a queue's state tab (a random state, as the
tabs do), and a task's detail page; a third of them as htmx polls (``HX-Request``, the fragment the
page refreshes every few seconds). Between requests a client pauses ``--think`` seconds on average
(1 s: eight times Asynqmon's default polling rate); ``--think 0`` sends back to back. It reports
requests/s, latency percentiles and errors (any status other than 200, or a failed connection),
overall and per page kind. Goal: p99 <= 200 ms with 0 errors. Clients are threads with keep-alive
connections on the same 2-core machine as the server, so the figures include the load generator's
own CPU use.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import free_port  # noqa: E402

STATES = ("active", "pending", "scheduled", "retry", "archived", "completed")
USERNAME, PASSWORD = "bench", "bench-pass-9d1e"


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{kind}: {detail}")


class Session:
    """One logged-in browser: a keep-alive connection and its cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        sent.update(headers or {})
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                # A kept-alive connection the server closed while idle: retry once, fresh.
                if attempt == 2 or method != "GET":
                    raise
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def login(self) -> None:
        self.request("GET", "/accounts/login/")
        form = urllib.parse.urlencode(
            {
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
            }
        )
        status, _ = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/",
            },
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login failed with status {status}")


def task_ids(session: Session) -> list[tuple[str, str]]:
    found = []
    for state in ("completed", "archived", "retry", "scheduled"):
        for queue in ("critical", "default", "low"):
            status, body = session.request("GET", f"/api/queues/{queue}/{state}_tasks?size=20")
            if status == 200:
                found += [(queue, t["id"]) for t in json.loads(body)["tasks"]]
    return found


def client_loop(
    port: int,
    stop: threading.Event,
    results: Results,
    tasks: list[tuple[str, str]],
    think: float,
    logged_in: threading.Semaphore,
) -> None:
    session = Session(port)
    session.login()
    logged_in.release()
    rng = random.Random()
    while not stop.is_set():
        roll = rng.random()
        queue = rng.choice(("critical", "default", "low"))
        if roll < 0.3:
            kind, path = "overview", "/"
        elif roll < 0.7:
            kind, path = "queue", f"/queues/{queue}/?state={rng.choice(STATES)}"
        else:
            q, task_id = rng.choice(tasks)
            kind, path = "task", f"/queues/{q}/tasks/{task_id}/"
        headers = {}
        if rng.random() < 1 / 3:
            kind += " (htmx poll)"
            headers = {"HX-Request": "true", "HX-Target": "page"}
        started = time.perf_counter()
        try:
            status, _ = session.request("GET", path, headers=headers)
        except (http.client.HTTPException, OSError) as exc:
            results.record(kind, time.perf_counter() - started, False, f"{path}: {exc!r}")
            continue
        # A task may have been deleted since the list was read (completed tasks expire): 404 is a
        # correct answer there, not a failure of the server.
        ok = status == 200 or (status == 404 and kind.startswith("task"))
        results.record(kind, time.perf_counter() - started, ok, f"{path}: HTTP {status}")
        if think:
            stop.wait(think * rng.uniform(0.5, 1.5))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(results: Results, seconds: float) -> dict[str, object]:
    rows = []
    every = [v for values in results.latencies.values() for v in values]
    kinds = [*sorted(results.latencies), "all"]
    for kind in kinds:
        values = every if kind == "all" else results.latencies[kind]
        errors = sum(results.errors.values()) if kind == "all" else results.errors[kind]
        rows.append(
            {
                "kind": kind,
                "requests": len(values),
                "per_second": len(values) / seconds,
                "p50_ms": percentile(values, 0.50) * 1000,
                "p95_ms": percentile(values, 0.95) * 1000,
                "p99_ms": percentile(values, 0.99) * 1000,
                "max_ms": max(values) * 1000,
                "mean_ms": statistics.fmean(values) * 1000,
                "errors": errors,
            }
        )
    header = f"{'page':<26}{'requests':>9}{'req/s':>8}" + "".join(
        f"{name:>8}" for name in ("p50", "p95", "p99", "max", "errors")
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['kind']:<26}{row['requests']:>9}{row['per_second']:>8.1f}"
            f"{row['p50_ms']:>7.1f}m{row['p95_ms']:>7.1f}m{row['p99_ms']:>7.1f}m"
            f"{row['max_ms']:>7.0f}m{row['errors']:>8}"
        )
    print("(latencies in ms)")
    for sample in results.samples:
        print("  error:", sample)
    return {"rows": rows}


def start_stack(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        PORT=str(port),
        RUN_REDIS_PORT=str(free_port()),
        RUN_DIR=str(workdir / "run"),
        DATABASE_PATH=str(workdir / "db.sqlite3"),
        DJANGO_SUPERUSER_USERNAME=USERNAME,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        DEBUG="0",
        QUEUECORE_API_TOKENS="",
    )
    log = (workdir / "stack.log").open("wb")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "launcher.py")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0, help="demo traffic before measuring")
    parser.add_argument(
        "--think",
        type=float,
        default=1.0,
        help="mean pause between a client's requests, s (0: back-to-back, a saturation test)",
    )
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="load-dashboard-") as tmp:
        workdir = Path(tmp)
        stack = start_stack(workdir, port)
        try:
            deadline = time.monotonic() + 120
            log = workdir / "stack.log"
            while "Dashboard:" not in log.read_text(errors="replace"):
                if stack.poll() is not None or time.monotonic() > deadline:
                    print(log.read_text(errors="replace")[-3000:])
                    return 1
                time.sleep(0.5)
            print(f"stack up on port {port}; demo warm-up {args.warmup:.0f} s")
            time.sleep(args.warmup)
            probe = Session(port)
            probe.login()
            tasks = task_ids(probe)
            if not tasks:
                print("no tasks to browse yet")
                return 1
            before = _counts(probe)
            results = Results()
            stop = threading.Event()
            logged_in = threading.Semaphore(0)
            threads = [
                threading.Thread(
                    target=client_loop,
                    args=(port, stop, results, tasks, args.think, logged_in),
                    daemon=True,
                )
                for _ in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            # The clock starts once every client has logged in (password hashing is CPU-heavy).
            for _ in threads:
                logged_in.acquire(timeout=120)
            time.sleep(2)
            with results.lock:
                results.latencies.clear()
                results.errors.clear()
            started = time.monotonic()
            time.sleep(args.seconds)
            stop.set()
            elapsed = time.monotonic() - started
            for thread in threads:
                thread.join(timeout=30)
            after = _counts(probe)
            print(
                f"{args.clients} clients (think {args.think:g} s), {elapsed:.0f} s, gunicorn "
                f"{os.environ.get('WEB_CONCURRENCY', '2')} workers x "
                f"{os.environ.get('GUNICORN_THREADS', '8')} threads; worker processed "
                f"{after - before} tasks meanwhile"
            )
            report(results, elapsed)
        finally:
            stack.send_signal(signal.SIGINT)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                stack.kill()
    return 0


def _counts(session: Session) -> int:
    status, body = session.request("GET", "/api/queues")
    if status != 200:
        return 0
    return sum(q["processed"] for q in json.loads(body)["queues"])


if __name__ == "__main__":
    sys.exit(main())
