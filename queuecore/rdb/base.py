"""What every rdb store shares: a client, its scripts, and the error edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import RedisClusterException

from queuecore.errors import RedisUnavailableError
from queuecore.rdb.failover import RedisClient, is_transient
from queuecore.rdb.scripts import ScriptRegistry
from queuecore.rdb.settings import RedisSettings


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn connection-level failures into RedisUnavailableError; other errors pass through."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise RedisUnavailableError(str(exc) or type(exc).__name__) from exc
    except RedisClusterException as exc:
        # No reachable seed node, or a slot no node serves: the cluster client's own error,
        # which does not derive from RedisError.
        raise RedisUnavailableError(str(exc) or type(exc).__name__) from exc
    except redis.ResponseError as exc:
        # A Sentinel failover or a loading replica answers like this until the new primary is up.
        # redis-py strips the code of replies it parses (ReadOnlyError), so ask is_transient.
        if is_transient(exc):
            raise RedisUnavailableError(str(exc)) from exc
        raise


class RedisStore:
    """Base of the rdb stores. Each store owns the Redis calls of one part of the system."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.scripts = ScriptRegistry(client)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(RedisSettings.from_url(url).connect())

    @property
    def is_cluster(self) -> bool:
        from redis.cluster import RedisCluster

        return isinstance(self.client, RedisCluster)

    def run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        with redis_errors():
            return self.scripts(name, keys, args)

    def ping(self) -> bool:
        with redis_errors():
            return bool(self.client.ping())
