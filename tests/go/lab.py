"""Driving the asynq lab (real Go asynq v0.26.0, ../shared/asynq-lab) from tests.

``GoLab.run(...)`` runs one lab command and returns its JSON lines; ``GoLab.work(...)`` starts a
Go asynq server whose task events (start/done/error/canceled) are read on a thread, so a test
can wait for the event it needs and then stop the server at once instead of waiting out a
fixed ``-duration``.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]
# The lab lives beside the project (../shared/asynq-lab); ASYNQ_LAB_BUILD names another build.sh.
DEFAULT_BUILD = PROJECT.parent / "shared" / "asynq-lab" / "build.sh"
# Process boundaries only: how long a test waits for a Go process to report an event.
EVENT_TIMEOUT = 20.0

Event = dict[str, Any]


class LabUnavailable(RuntimeError):
    """The lab could not be built here (no build.sh, no Go and no way to install it)."""


def build_script() -> Path:
    return Path(os.environ.get("ASYNQ_LAB_BUILD", DEFAULT_BUILD))


def build(src: Path | None = None, out: Path | None = None) -> Path:
    """Build the lab (or the ``package main`` in ``src``) and return the binary's path."""
    script = build_script()
    if not script.exists():
        raise LabUnavailable(f"{script} not found (the asynq lab sits beside the project)")
    if shutil.which("bash") is None:
        raise LabUnavailable("bash is needed to run the lab's build.sh")
    args = ["bash", str(script)]
    if src is not None:
        args += ["--src", str(src)]
    if out is not None:
        args.append(str(out))
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not Path(lines[-1]).exists():
        raise LabUnavailable(f"asynq lab build failed: {done.stderr.strip()[-800:]}")
    return Path(lines[-1])


@dataclass
class GoWorker:
    """A running ``asynqlab work``: its events, and how to stop or kill it."""

    process: subprocess.Popen[str]
    events: list[Event] = field(default_factory=list)
    _inbox: queue.Queue[Event | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.strip()
            if line.startswith("{"):
                self._inbox.put(json.loads(line))
        self._inbox.put(None)

    def wait_for(self, match: Callable[[Event], bool], timeout: float = EVENT_TIMEOUT) -> Event:
        """The first event (seen before or arriving now) that ``match`` accepts."""
        for event in self.events:
            if match(event):
                return event
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"Go worker reported no matching event; saw {self.events}")
            try:
                event = self._inbox.get(timeout=left)
            except queue.Empty:
                continue
            if event is None:
                raise AssertionError(f"Go worker exited; events {self.events}")
            self.events.append(event)
            if match(event):
                return event

    def wait_event(self, kind: str, task_id: str | None = None, **fields: Any) -> Event:
        def match(event: Event) -> bool:
            return (
                event.get("event") == kind
                and (task_id is None or event.get("id") == task_id)
                and all(event.get(k) == v for k, v in fields.items())
            )

        return self.wait_for(match)

    def stop(self) -> list[Event]:
        """SIGTERM (Go's graceful shutdown) and wait; returns every event it reported."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._drain()
        return self.events

    def kill(self) -> None:
        """SIGKILL: the process dies mid-task, leaving its leases and records behind."""
        self.process.kill()
        self.process.wait()
        self._drain()

    def _drain(self) -> None:
        while True:
            try:
                event = self._inbox.get(timeout=2)
            except queue.Empty:
                return
            if event is None:
                return
            self.events.append(event)


@dataclass
class GoLab:
    binary: Path
    port: int
    db: int = 0
    workers: list[GoWorker] = field(default_factory=list)

    def _base(self, command: str) -> list[str]:
        return [str(self.binary), command, "-addr", f"127.0.0.1:{self.port}", "-db", str(self.db)]

    def run(self, command: str, *args: str, check: bool = True) -> list[Event]:
        """Run one lab command to its end; its JSON lines, parsed."""
        done = subprocess.run(
            [*self._base(command), *args], capture_output=True, text=True, timeout=60, check=False
        )
        if check and done.returncode not in (0, 3):
            raise AssertionError(f"asynqlab {command} failed ({done.returncode}): {done.stderr}")
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    def one(self, command: str, *args: str) -> Event:
        (result,) = self.run(command, *args)
        return result

    def enqueue(self, *args: str) -> Event:
        return self.one("enqueue", *args)

    def inspect(self, queue_name: str = "default") -> Event:
        return self.one("inspect", "-queue", queue_name)

    def taskinfo(self, queue_name: str, task_id: str) -> Event:
        return self.one("taskinfo", "-queue", queue_name, "-id", task_id)

    def action(self, op: str, queue_name: str = "default", task_id: str = "", *extra: str) -> Event:
        return self.one("action", "-op", op, "-queue", queue_name, "-id", task_id, *extra)

    def work(self, *args: str, duration: str = "60s") -> GoWorker:
        """Start a Go server (stopped by the test, at the latest after ``duration``)."""
        process = subprocess.Popen(
            [*self._base("work"), "-duration", duration, "-shutdown-timeout", "1s", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        worker = GoWorker(process)
        self.workers.append(worker)
        return worker

    def schedule(self, *args: str, duration: str = "60s") -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self._base("schedule"), "-duration", duration, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.kill()
        self.workers.clear()
