"""Process-wide queuecore objects for the Django side, one per Redis URL (each holds a pool).

Created on first use, never at import or app-ready time, so ``manage.py`` commands that don't touch
Redis (migrate, check, collectstatic) never connect.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from queuecore.contrib.django.conf import redis_url
from queuecore.rdb.base import RedisStore
from queuecore.rdb.connection import RedisSettings

if TYPE_CHECKING:
    from queuecore.alerts import AlertBoard
    from queuecore.client import Client
    from queuecore.inspector import Inspector

# A health probe must answer quickly even when Redis hangs: the proxy's check has a deadline.
HEALTH_TIMEOUT_SECONDS = 2.0

_lock = threading.Lock()
_inspectors: dict[str, Inspector] = {}
_clients: dict[str, Client] = {}
_probes: dict[str, RedisStore] = {}
_boards: dict[str, AlertBoard] = {}


def _one_per_key[K, T](registry: dict[K, T], key: K, make: Callable[[], T]) -> T:
    with _lock:
        found = registry.get(key)
        if found is None:
            found = registry[key] = make()
        return found


def _bounded(url: str, timeout: float) -> RedisSettings:
    """``url``'s settings with sockets that give up after ``timeout`` and no failover retry, so a
    slow or dead Redis is reported at once instead of ridden out."""
    return dataclasses.replace(
        RedisSettings.from_url(url),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_timeout=0.0,
    )


def shared_inspector(url: str | None = None) -> Inspector:
    from queuecore.inspector import Inspector

    url = url or redis_url()
    return _one_per_key(_inspectors, url, lambda: Inspector.from_url(url))


def shared_client(url: str | None = None) -> Client:
    from queuecore.client import Client

    url = url or redis_url()
    return _one_per_key(_clients, url, lambda: Client.from_url(url))


def shared_alert_board(url: str | None = None) -> AlertBoard:
    """The alert loops' records in Redis, read by the dashboard's Alerts page."""
    from queuecore.alerts import AlertBoard

    url = url or redis_url()
    return _one_per_key(_boards, url, lambda: AlertBoard.from_url(url))


def health_probe(url: str | None = None) -> RedisStore:
    """A store on its own short-timeout connection, so a slow Redis fails the probe fast."""
    url = url or redis_url()
    return _one_per_key(
        _probes, url, lambda: RedisStore(_bounded(url, HEALTH_TIMEOUT_SECONDS).connect())
    )


_fleet: dict[tuple[str, float], Inspector] = {}


# The fleet overview stops waiting at an instance's bound; its reader's sockets give up a little
# later, so the page, not a socket error, decides "no answer", and the thread is freed soon after.
FLEET_SOCKET_FACTOR = 1.5


def fleet_inspector(url: str, timeout: float) -> Inspector:
    """An Inspector whose connection gives up soon after ``timeout`` seconds, with no failover
    retry: the fleet overview's reader of one instance, so a dead or hanging Redis frees its
    thread close to the instance's bound instead of holding it for the default timeouts."""
    from queuecore.inspector import Inspector
    from queuecore.rdb.inspect import InspectStore

    bound = timeout * FLEET_SOCKET_FACTOR
    return _one_per_key(
        _fleet, (url, timeout), lambda: Inspector(InspectStore(_bounded(url, bound).connect()))
    )
