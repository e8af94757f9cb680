"""Before/after views of a Redis database, for asserting what a call changed and what it left."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import redis

_READERS: dict[bytes, Callable[[redis.Redis, bytes], object]] = {
    b"string": lambda r, k: r.get(k),
    b"hash": lambda r, k: r.hgetall(k),
    b"list": lambda r, k: r.lrange(k, 0, -1),
    b"set": lambda r, k: r.smembers(k),
    b"zset": lambda r, k: r.zrange(k, 0, -1, withscores=True),
}


def key_type(r: redis.Redis, key: bytes) -> bytes:
    return cast(bytes, r.type(key))


def key_value(r: redis.Redis, key: bytes, kind: bytes) -> object:
    """The whole value of ``key`` of type ``kind``; a type read nowhere here gives its name."""
    reader = _READERS.get(kind)
    return kind.decode() if reader is None else reader(r, key)


def snapshot(r: redis.Redis) -> dict[bytes, tuple[bytes, object, bool]]:
    """Every key with its type, value and whether it has a TTL: equal means untouched."""
    result: dict[bytes, tuple[bytes, object, bool]] = {}
    for key in r.scan_iter(count=1000):
        kind = key_type(r, key)
        result[key] = (kind, key_value(r, key, kind), r.pttl(key) > 0)
    return result
