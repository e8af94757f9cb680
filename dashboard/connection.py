"""The dashboard's Inspector and Client: the process's one per Redis URL, shared with the Django
glue (``queuecore.contrib.django.connection``: metrics, the django.tasks backend), so one web
process holds one pool per URL whichever part asks. Each is the current instance's
(``queuecore.contrib.django.instances.current``: the request's Redis)."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from queuecore import Client, Inspector
from queuecore.alerts import AlertBoard
from queuecore.contrib.django.connection import shared_alert_board, shared_client, shared_inspector
from queuecore.contrib.django.instances import current
from queuecore.inspection import QueueInfo

_lock = threading.Lock()


def inspector() -> Inspector:
    return shared_inspector(current().url)


def client() -> Client:
    """For tasks created from the dashboard."""
    return shared_client(current().url)


def alert_board() -> AlertBoard:
    """What the alert loops recorded in Redis (the Alerts page)."""
    return shared_alert_board(current().url)


# Memory usage needs MEMORY USAGE sampling, which polling must not pay on every request: the
# sampled figures are refreshed at most once a minute per process and reused in between.
MEMORY_MAX_AGE = 60.0
_memory: dict[str, tuple[float, dict[str, int | None]]] = {}


def queue_infos(insp: Inspector) -> list[QueueInfo]:
    """Every queue's info from the cheap overview, with memory usage at most a minute old."""
    url = current().url
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
        _, memory = _memory.get(current().url, (0.0, {}))
    return replace(info, memory_usage=memory.get(queue))
