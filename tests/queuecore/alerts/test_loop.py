"""The alert loop over a real Redis, real findings and a real HTTP receiver on loopback.

Loops are driven by ``run_once()`` with a FrozenClock; two services on one Redis stand for two
processes (each has its own connections).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from queuecore.alerts import AlertBoard, AlertService, Channel, http_sender, verify_signature
from queuecore.clock import FrozenClock
from queuecore.health import HealthThresholds
from tests.support.factories import seed_many, seed_task
from tests.support.receivers import HttpReceiver

EPOCH = 1_790_000_000.0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(EPOCH)


@pytest.fixture
def make_service(redis_url: str, clock: FrozenClock) -> Iterator[Callable[..., AlertService]]:
    made: list[AlertService] = []

    def make(*channels: Channel, **options: Any) -> AlertService:
        options.setdefault("thresholds", HealthThresholds())
        service = AlertService.from_url(
            redis_url,
            channels,
            {c.name: http_sender(c, now=clock.now) for c in channels},
            clock=clock,
            **options,
        )
        made.append(service)
        return service

    yield make
    for service in made:
        service.close()


def webhook(receiver: HttpReceiver, **options: Any) -> Channel:
    options.setdefault("timeout", 5)
    return Channel(name="hook", type="webhook", url=receiver.url(), **options)


def events(receiver: HttpReceiver) -> list[tuple[str, str, str | None]]:
    found = []
    for body in receiver.bodies():
        doc = json.loads(body)
        found.append((doc["event"], doc["rule"], doc["queue"]))
    return found


def clear_queue(client: redis.Redis, queue: str) -> None:
    """The finding's cause goes away; the alert state (queuecore:alerts:*) stays."""
    for key in client.scan_iter(match=f"asynq:{{{queue}}}:*"):
        client.delete(key)
    client.srem("asynq:queues", queue)


def run_all(*services: AlertService) -> None:
    for service in services:
        service.run_once()


def test_two_loops_send_one_opened_and_one_resolved_message_for_a_finding(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    first, second = make_service(webhook(http_receiver)), make_service(webhook(http_receiver))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    run_all(first, second)
    clock.advance(30)
    run_all(second, first)
    assert events(http_receiver) == [("opened", "no_consumer", "orphans")]

    clear_queue(redis_client, "orphans")
    clock.advance(30)
    run_all(second, first)
    clock.advance(30)
    run_all(first, second)
    assert events(http_receiver) == [
        ("opened", "no_consumer", "orphans"),
        ("resolved", "no_consumer", "orphans"),
    ]
    resolved = json.loads(http_receiver.bodies()[1])
    assert resolved["opened_at"] == "2026-09-21T14:13:20+00:00"
    assert "3 pending" not in resolved["text"]


def test_a_loop_whose_snapshot_predates_another_loops_resolve_does_not_reopen(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    fresh = make_service(webhook(http_receiver))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    fresh.run_once()
    stale_findings = fresh.loop._findings()  # what a slow loop saw a moment ago
    clear_queue(redis_client, "orphans")
    clock.advance(1)
    before_resolve = clock.now()
    clock.advance(1)
    fresh.run_once()  # resolves

    slow = make_service(webhook(http_receiver))
    assert slow.loop._plan(stale_findings, before_resolve) == []
    assert [e[0] for e in events(http_receiver)] == ["opened", "resolved"]


def test_a_reminder_arrives_at_its_interval_while_the_finding_stays_open(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    service = make_service(webhook(http_receiver, remind_every=600))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    service.run_once()
    clock.advance(599)
    service.run_once()
    assert [e[0] for e in events(http_receiver)] == ["opened"]
    clock.advance(1)
    service.run_once()
    clock.advance(300)
    service.run_once()
    assert [e[0] for e in events(http_receiver)] == ["opened", "reminder"]
    reminder = json.loads(http_receiver.bodies()[1])
    assert reminder["reminders"] == 1
    assert reminder["title"].startswith("[CRITICAL] no_consumer still open")


def test_a_failing_receiver_gets_retries_with_backoff_and_the_delivery_log_shows_them(
    http_receiver, make_service, redis_client: redis.Redis, redis_url: str, clock: FrozenClock
):
    http_receiver.statuses = [500, 503]
    service = make_service(webhook(http_receiver, max_attempts=5), first_delay=2.0)
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    _, records = service.run_once()
    assert [r.outcome for r in records] == ["retrying"]
    assert records[0].next_at == clock.now() + 2
    assert service.run_once()[1] == []  # not due yet
    clock.advance(2)
    (second,) = service.run_once()[1]
    assert (second.outcome, second.next_at) == ("retrying", clock.now() + 4)
    clock.advance(4)
    (third,) = service.run_once()[1]
    assert third.outcome == "sent"
    assert len(http_receiver.requests) == 3
    ids = {r.headers["x-queuecore-delivery"] for r in http_receiver.requests}
    assert len(ids) == 1  # one message, retried: receivers can drop duplicates by this id

    board = AlertBoard.from_url(redis_url)
    log = board.deliveries()
    board.close()
    assert [r.outcome for r in log] == ["sent", "retrying", "retrying"]
    assert log[-1].error.startswith("HTTP 500")


def test_a_message_is_given_up_after_max_attempts_and_4xx_replies_are_not_retried(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    http_receiver.statuses = [500, 500, 404]
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    service = make_service(webhook(http_receiver, max_attempts=2))
    service.run_once()
    clock.advance(2)
    (gave_up,) = service.run_once()[1]
    assert (gave_up.outcome, gave_up.attempt) == ("failed", 2)
    assert service.pending() == 0

    clear_queue(redis_client, "orphans")
    clock.advance(10)
    (not_found,) = service.run_once()[1]  # the resolve message meets the 404
    assert (not_found.outcome, not_found.attempt) == ("failed", 1)


def test_the_hmac_signature_and_bearer_token_verify(
    http_receiver, make_service, redis_client: redis.Redis
):
    secret = "s3cret-key"
    service = make_service(webhook(http_receiver, secret=secret, token="tok-1"))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    service.run_once()
    (request,) = http_receiver.requests
    timestamp = request.headers["x-queuecore-timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["x-queuecore-signature"] == f"sha256={expected.hexdigest()}"
    assert verify_signature(
        secret, timestamp, request.body, request.headers["x-queuecore-signature"]
    )
    assert not verify_signature(
        secret, timestamp, request.body + b" ", request.headers["x-queuecore-signature"]
    )
    assert request.headers["authorization"] == "Bearer tok-1"
    assert request.headers["x-queuecore-event"] == "opened"
    assert timestamp == str(int(EPOCH))


def test_slack_messages_are_text_with_slacks_control_characters_escaped(
    http_receiver, make_service, redis_client: redis.Redis
):
    channel = Channel(name="chat", type="slack", url=http_receiver.url("/services/x"))
    service = make_service(channel)
    seed_task(redis_client, "pending", queue="<!channel>&co", now=EPOCH - 5)
    service.run_once()
    (request,) = http_receiver.requests
    doc = json.loads(request.body)
    assert list(doc) == ["text"]
    assert "&lt;!channel&gt;&amp;co" in doc["text"]
    assert "<!channel>" not in doc["text"]


def test_a_channel_hears_only_the_findings_it_wants(
    http_receiver, make_service, redis_client: redis.Redis
):
    only_default = webhook(http_receiver, queues=("default",))
    service = make_service(only_default)
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    service.run_once()
    assert http_receiver.requests == []


def test_a_receiver_that_hangs_fails_the_attempt_at_the_channels_timeout(
    http_receiver, make_service, redis_client: redis.Redis
):
    http_receiver.hang = True
    service = make_service(webhook(http_receiver, timeout=0.3))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    (record,) = service.run_once()[1]
    assert record.outcome == "retrying"
    assert "no reply within 0.3s" in record.error


def test_with_open_after_a_finding_that_clears_in_time_sends_nothing_and_one_that_stays_opens(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    service = make_service(webhook(http_receiver, open_after=60))
    seed_task(redis_client, "pending", queue="blip", now=EPOCH - 5)
    seed_task(redis_client, "pending", queue="stuck", now=EPOCH - 5)
    service.run_once()
    clock.advance(30)
    clear_queue(redis_client, "blip")
    service.run_once()
    clock.advance(30)
    service.run_once()
    assert events(http_receiver) == [("opened", "no_consumer", "stuck")]
    opened = json.loads(http_receiver.bodies()[0])
    assert opened["opened_at"] == "2026-09-21T14:13:20+00:00"  # when it was first found
    assert redis_client.hkeys("queuecore:alerts:state:hook") == [b"no_consumer|stuck|"]


def test_a_resolve_decided_while_the_opening_is_retried_arrives_after_it(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    http_receiver.statuses = [500]
    service = make_service(webhook(http_receiver))
    seed_task(redis_client, "pending", queue="orphans", now=EPOCH - 5)
    service.run_once()  # "opened" fails once
    clear_queue(redis_client, "orphans")
    clock.advance(1)
    _, records = service.run_once()  # "resolved" is decided, but waits behind "opened"
    assert records == []
    clock.advance(1)
    _, records = service.run_once()
    assert [r.kind for r in records] == ["opened", "resolved"]
    assert [e[0] for e in events(http_receiver)] == ["opened", "opened", "resolved"]


def test_a_finding_that_gets_worse_sends_one_escalation(
    http_receiver, make_service, redis_client: redis.Redis, clock: FrozenClock
):
    service = make_service(webhook(http_receiver), thresholds=HealthThresholds(archive_cap=10))
    seed_many(redis_client, "archived", 8, queue="mail")  # 80 % of the cap: a warning
    service.run_once()
    clock.advance(30)
    seed_many(redis_client, "archived", 2, queue="mail")  # 100 %: critical
    service.run_once()
    clock.advance(30)
    service.run_once()
    assert events(http_receiver) == [
        ("opened", "archive_cap", "mail"),
        ("escalated", "archive_cap", "mail"),
    ]
    worse = json.loads(http_receiver.bodies()[1])
    assert worse["severity"] == "critical"
    assert worse["title"] == "[CRITICAL] archive_cap got worse: queue mail"
