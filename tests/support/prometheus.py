"""A real Prometheus (Debian's ``prometheus`` package) scraping the live Django server's /metrics.

``prometheus`` (module): one Prometheus on a free port, its TSDB in a temp dir, scraping
``live_server``'s ``/metrics`` every second with the bearer token :data:`TOKEN`. Missing binary:
skip locally, fail under CI (as the redis fixture does; scripts/system-deps installs it).

``scraped_queue`` (per test): points QUEUECORE at the test Redis, the token and Prometheus,
seeds tasks in one fresh queue and waits, bounded, until Prometheus has scraped them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import urlopen

import pytest
import redis

from tests.support.factories import seed_task
from tests.support.redis_server import free_port, stop_process

TOKEN = "prometheus-scrape-token"
# Scrapes come every second; Prometheus needs a few to start and two for a rate().
DEADLINE = 30.0


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def prometheus_missing_is_fatal() -> bool:
    return bool(os.environ.get("CI"))


def scrape_config(target: str, token: str) -> str:
    # JSON is YAML; Prometheus reads either.
    return json.dumps(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "queuecore",
                    "scrape_interval": "1s",
                    "scrape_timeout": "1s",
                    "metrics_path": "/metrics",
                    "authorization": {"type": "Bearer", "credentials": token},
                    "static_configs": [{"targets": [target]}],
                }
            ],
        }
    )


@dataclass
class PrometheusProcess:
    port: int
    workdir: Path
    target: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusProcess:
        binary = prometheus_binary()
        if binary is None:
            raise RuntimeError("prometheus is not installed")
        config = self.workdir / "prometheus.yml"
        config.write_text(scrape_config(self.target, TOKEN))
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "prometheus.log").open("wb"),
            cwd=self.workdir,
        )
        self.wait_until(lambda: self.get("/-/ready") is not None, "did not become ready")
        return self

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def get(self, path: str, **params: str) -> Any:
        """Prometheus's parsed JSON (or text) at ``path``; None while it does not answer."""
        url = self.url + path + ("?" + urlencode(params) if params else "")
        try:
            with urlopen(url, timeout=2) as response:
                body = response.read()
        except (URLError, OSError):
            return None
        try:
            return json.loads(body)
        except ValueError:
            return body.decode()

    def wait_until(self, ready: Callable[[], object], what: str) -> None:
        """Poll a process boundary with a deadline; the log tail explains a failure."""
        deadline = time.monotonic() + DEADLINE
        while not ready():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus {what} within {DEADLINE} s: {self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self) -> str:
        log = self.workdir / "prometheus.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def last_scrape_ok_after(self, moment: float) -> bool:
        """Whether a scrape that started after ``moment`` (Unix seconds) succeeded."""
        answer = self.get("/api/v1/targets") or {}
        for target in (answer.get("data") or {}).get("activeTargets") or []:
            started = target.get("lastScrape", "")
            if target.get("health") == "up" and started and _unix(started) > moment:
                return True
        return False

    def has_range(self, query: str) -> bool:
        """Whether ``query`` has a point at the last whole second, on the API's 10 s grid."""
        end = int(time.time())
        params = {"query": query, "start": str(end - 60), "end": str(end), "step": "10"}
        answer = self.get("/api/v1/query_range", **params) or {}
        return any(
            series["values"][-1][0] == end
            for series in (answer.get("data") or {}).get("result") or []
        )


def _unix(rfc3339: str) -> float:
    # Prometheus prints nanoseconds; fromisoformat takes at most microseconds.
    text = rfc3339.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return datetime.fromisoformat(text).timestamp()


# Test modules import the fixture, so pytest holds one definition per module. Module scope
# stops Prometheus when the module's tests are done: left running, it would go on scraping the
# live server through every later test (whose requests may not touch the database). Modules
# running at the same time share one process (target -> [process, users]).
_SHARED: dict[str, list[Any]] = {}


@pytest.fixture(scope="module", name="prometheus")
def prometheus_fixture(live_server: Any) -> Iterator[PrometheusProcess]:
    """One Prometheus per test module, scraping the live server's /metrics every second."""
    if prometheus_binary() is None:
        message = "prometheus is not installed (scripts/system-deps installs it with apt-get)"
        if prometheus_missing_is_fatal():
            pytest.fail(message)
        pytest.skip(message)
    target = urlsplit(live_server.url).netloc
    if target not in _SHARED:
        workdir = Path(tempfile.mkdtemp(prefix="qc-prometheus-"))
        server = PrometheusProcess(port=free_port(), workdir=workdir, target=target)
        _SHARED[target] = [server.start(), 0]
    shared = _SHARED[target]
    shared[1] += 1
    yield shared[0]
    shared[1] -= 1
    if not shared[1]:
        del _SHARED[target]
        shared[0].stop()


@dataclass(frozen=True)
class ScrapedQueue:
    name: str
    # A second queue with one pending task, for the queue filter.
    other: str
    prometheus: PrometheusProcess
    pending: int
    retry: int
    archived: int


@pytest.fixture(name="scraped_queue")
def scraped_queue_fixture(
    prometheus: PrometheusProcess,
    settings: Any,
    queuecore_settings: str,
    redis_client: redis.Redis,
) -> ScrapedQueue:
    """A fresh queue with 3 pending, 2 retry and 1 archived task (and another queue with one
    pending task), as Prometheus has scraped them."""
    current = dict(settings.QUEUECORE)
    current.update(METRICS_TOKEN=TOKEN, PROMETHEUS_URL=prometheus.url)
    settings.QUEUECORE = current
    name, other = (f"metrics-{uuid.uuid4().hex[:8]}" for _ in range(2))
    seed_task(redis_client, "pending", queue=other)
    counts = {"pending": 3, "retry": 2, "archived": 1}
    for state, count in counts.items():
        for _ in range(count):
            seed_task(redis_client, state, queue=name)
    since = time.time()
    prometheus.wait_until(
        lambda: prometheus.last_scrape_ok_after(since), "scraped no /metrics successfully"
    )
    # Two samples before a whole second make the API's rate() points answer too.
    prometheus.wait_until(
        lambda: prometheus.has_range(f'rate(asynq_tasks_processed_total{{queue="{name}"}}[5m])'),
        f"has no rate for queue {name}",
    )
    return ScrapedQueue(name=name, other=other, prometheus=prometheus, **counts)
