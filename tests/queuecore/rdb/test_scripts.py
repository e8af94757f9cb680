"""Lua scripts: each documented in its header, loaded once, called by SHA, surviving a flush."""

from __future__ import annotations

import re
import uuid

import pytest
import redis

from queuecore import Client, Task
from queuecore.rdb.scripts import REQUIRED_HEADER_WORDS, script_names, script_source

ENQUEUE_SCRIPTS = {
    "enqueue",
    "enqueue_unique",
    "schedule",
    "schedule_unique",
    "add_to_group",
    "add_to_group_unique",
}


def header(name: str) -> str:
    return script_source(name).split("\n\n", 1)[0]


def test_the_client_scripts_exist():
    assert set(script_names()) >= ENQUEUE_SCRIPTS


@pytest.mark.parametrize("name", script_names())
def test_every_script_opens_with_a_keys_argv_returns_header(name):
    first_paragraph = header(name)
    for word in REQUIRED_HEADER_WORDS:
        assert word in first_paragraph, f"lua/{name}.lua header lacks {word}"
    assert all(line.startswith("--") for line in first_paragraph.splitlines()), (
        f"lua/{name}.lua: the header paragraph must be Lua comments only"
    )


@pytest.mark.parametrize("name", sorted(ENQUEUE_SCRIPTS))
def test_the_header_documents_every_key_and_argument_the_script_uses(name):
    source = script_source(name)
    body = source.split("\n\n", 1)[1]
    for kind in ("KEYS", "ARGV"):
        used = set(re.findall(rf"{kind}\[(\d+)\]", body))
        documented = set(re.findall(rf"{kind}\[(\d+)\]", header(name)))
        assert used <= documented, f"lua/{name}.lua uses undocumented {kind} {used - documented}"


def command_calls(r: redis.Redis) -> dict[str, int]:
    return {
        name.removeprefix("cmdstat_"): stats["calls"]
        for name, stats in r.info("commandstats").items()
    }


def enqueue_every_kind(client: Client) -> None:
    """One call of each of the six enqueue scripts."""
    client.enqueue(Task("a"))
    client.enqueue(Task("b", uuid.uuid4().bytes), unique=60)
    client.enqueue(Task("c"), process_in=60)
    client.enqueue(Task("d", uuid.uuid4().bytes), process_in=60, unique=60)
    client.enqueue(Task("e"), group="g")
    client.enqueue(Task("f", uuid.uuid4().bytes), group="g", unique=60)


def test_scripts_are_loaded_once_and_then_called_by_sha(redis_url, redis_client):
    redis_client.script_flush()
    redis_client.config_resetstat()
    with Client(redis_url) as client:
        for _ in range(3):
            enqueue_every_kind(client)
    calls = command_calls(redis_client)
    assert calls.get("evalsha") == 18 + 6  # six NOSCRIPT replies on first use, then 18 runs
    assert calls.get("script|load") == 6
    assert "eval" not in calls
    assert "script|exists" not in calls


def test_enqueue_works_after_script_flush(redis_url, redis_client):
    with Client(redis_url) as client:
        enqueue_every_kind(client)
        redis_client.script_flush()
        enqueue_every_kind(client)
        redis_client.script_flush()
        client.enqueue_many([Task("x", b"1"), Task("y", b"2", process_in=5)])
    assert redis_client.llen("asynq:{default}:pending") == 2 * 2 + 1
    assert redis_client.zcard("asynq:{default}:scheduled") == 2 * 2 + 1
    assert redis_client.zcard("asynq:{default}:g:g") == 2 * 2


def test_enqueue_works_after_redis_restarts(redis_server, redis_url, redis_client):
    with Client(redis_url) as client:
        client.enqueue(Task("before"))
        redis_server.restart()  # nothing persisted: data and scripts are gone
        info = client.enqueue(Task("after"))
    fresh = redis.Redis(port=redis_server.port)
    assert fresh.lrange("asynq:{default}:pending", 0, -1) == [info.id.encode()]
    fresh.close()
