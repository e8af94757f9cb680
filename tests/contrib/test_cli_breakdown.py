"""``manage.py queue breakdown``: a state's tasks by type and error signature, table or JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.factories import seed_task


def run(*args: str) -> str:
    out = StringIO()
    call_command("queue", "breakdown", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def retries(redis_client: redis.Redis, queuecore_settings: str) -> None:
    for n in range(5):
        seed_task(
            redis_client,
            "retry",
            type="email:send" if n < 4 else "sms:send",
            error_msg=f"timeout after {n}s on 10.0.0.{n}:6379",
            score=n,
        )


def test_queue_breakdown_prints_types_and_error_signatures(retries: None) -> None:
    lines = run("default", "retry").splitlines()
    assert lines[0] == "Task Count by Type (retry)"
    assert lines[3].split() == ["email:send", "4", "80.0%"]
    assert lines[4].split() == ["sms:send", "1", "20.0%"]
    signature = next(line for line in lines if "<addr>" in line)
    assert signature.split()[:2] == ["5", "100.0%"]
    assert "timeout after <n>s on <addr>" in signature
    assert lines[-1] == "Scanned 5 of 5 retry tasks."


def test_queue_breakdown_json_is_the_inspector_result(retries: None) -> None:
    data = json.loads(run("default", "retry", "--json"))
    assert data["types"] == [
        {"type": "email:send", "count": 4},
        {"type": "sms:send", "count": 1},
    ]
    (error,) = data["errors"]
    assert (error["signature"], error["count"]) == ("timeout after <n>s on <addr>", 5)
    assert error["types"] == {"email:send": 4, "sms:send": 1}
    assert (data["state"], data["scanned"], data["cursor"]) == ("retry", 5, None)


def test_queue_breakdown_is_bounded_and_continues_or_scans_all_in_rounds(retries: None) -> None:
    partial = run("default", "retry", "--budget", "2").splitlines()
    assert partial[-1] == (
        "Scanned 2 of 5 retry tasks; continue with --cursor 2, or scan them all with --all."
    )
    rest = json.loads(run("default", "retry", "--budget", "2", "--cursor", "2", "--json"))
    assert (rest["scanned"], rest["cursor"]) == (2, "4")
    whole = json.loads(run("default", "retry", "--budget", "2", "--all", "--json"))
    assert (whole["scanned"], whole["cursor"]) == (5, None)
    assert whole["types"] == [{"type": "email:send", "count": 4}, {"type": "sms:send", "count": 1}]


def test_queue_breakdown_of_an_unknown_queue_is_a_command_error(retries: None) -> None:
    with pytest.raises(CommandError, match="nope"):
        run("nope", "retry")
