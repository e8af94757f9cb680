"""Loads ../shared/fixtures/asynq/ (real data written by Go asynq v0.26) into a real Redis."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import redis

FIXTURE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "asynq"
# When Go's dump was taken; replaying with a clock at this instant makes "today" and leases match.
CAPTURED_AT = datetime(2026, 11, 25, 15, 40, 21, 637541, tzinfo=UTC)


def fixture_path(name: str) -> Path:
    return FIXTURE_DIR.resolve() / name


@cache
def load_json(name: str) -> Any:
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))


def _bytes(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["b64"])


def load_into(client: redis.Redis, *, keep_ttl: bool = False) -> int:
    """Write every key of populated.json; returns the number of keys written.

    TTLs are dropped unless ``keep_ttl``: the registries expire within seconds of the capture,
    and tests replay the capture with a frozen clock instead.
    """
    entries = load_json("populated.json")
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        key = base64.b64decode(entry["key_b64"])
        kind, value = entry["type"], entry["value"]
        pipe.delete(key)
        if kind == "string":
            pipe.set(key, _bytes(value))
        elif kind == "hash":
            pipe.hset(key, mapping={_bytes(f["field"]): _bytes(f["value"]) for f in value})
        elif kind == "list":
            pipe.rpush(key, *[_bytes(v) for v in value])
        elif kind == "set":
            pipe.sadd(key, *[_bytes(v) for v in value])
        elif kind == "zset":
            pipe.zadd(key, {_bytes(v["member"]): v["score"] for v in value})
        else:
            raise ValueError(f"unknown key type {kind} in fixture")
        if keep_ttl and entry["ttl_ms"] > 0:
            pipe.pexpire(key, entry["ttl_ms"])
    pipe.execute()
    return len(entries)
