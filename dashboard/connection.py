"""The dashboard's one Inspector (and Client) per Redis URL, reused across requests (each holds
its pool)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from queuecore import Client, Inspector
from queuecore.contrib.django.conf import redis_url
from queuecore.inspection import QueueInfo

_lock = threading.Lock()
_inspectors: dict[str, Inspector] = {}
_clients: dict[str, Client] = {}


def _one_per_url[T](made: dict[str, T], make: Callable[[str], T]) -> T:
    url = redis_url()
    with _lock:
        found = made.get(url)
        if found is None:
            found = made[url] = make(url)
        return found


def inspector() -> Inspector:
    return _one_per_url(_inspectors, Inspector.from_url)


def client() -> Client:
    """The dashboard's one Client per Redis URL (for tasks created from the dashboard)."""
    return _one_per_url(_clients, Client.from_url)


# Memory usage needs MEMORY USAGE sampling, which polling must not pay on every request: the
# sampled figures are refreshed at most once a minute per process and reused in between.
MEMORY_MAX_AGE = 60.0
_memory: dict[str, tuple[float, dict[str, int | None]]] = {}


def queue_infos(insp: Inspector) -> list[QueueInfo]:
    """Every queue's info from the cheap overview, with memory usage at most a minute old."""
    url = redis_url()
    now = time.monotonic()
    with _lock:
        sampled_at, memory = _memory.get(url, (float("-inf"), {}))
    if now - sampled_at > MEMORY_MAX_AGE:
        infos = insp.overview(cheap=False)
        with _lock:
            _memory[url] = (now, {i.queue: i.memory_usage for i in infos})
        return infos
    return [replace(i, memory_usage=memory.get(i.queue)) for i in insp.overview(cheap=True)]


def queue_info(insp: Inspector, queue: str) -> QueueInfo:
    """One queue's cheap info with the last sampled memory usage, if any."""
    info = insp.get_queue_info(queue, cheap=True)
    with _lock:
        _, memory = _memory.get(redis_url(), (0.0, {}))
    return replace(info, memory_usage=memory.get(queue))
