"""Where callers get a Redis connection: the settings (``queuecore.rdb.settings``) and the
failover-aware clients they open (``queuecore.rdb.failover``), under the names callers have
always imported from here.

Nothing is defined here, so the settings module and the client modules never import each other
through it: settings load the clients only when ``RedisSettings.connect`` runs.
"""

from __future__ import annotations

from queuecore.rdb.failover import (
    TRANSIENT_REPLY_PREFIXES,
    FailoverPipeline,
    FailoverRedis,
    FailoverRetry,
    RedisClient,
    is_transient,
)
from queuecore.rdb.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_RETRY_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    Kind,
    RedisSettings,
    settings_from_env,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_RETRY_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "TRANSIENT_REPLY_PREFIXES",
    "FailoverPipeline",
    "FailoverRedis",
    "FailoverRetry",
    "Kind",
    "RedisClient",
    "RedisSettings",
    "is_transient",
    "settings_from_env",
]
