"""Alerts from Django settings: system checks, email through a real SMTP server (aiosmtpd) and a
webhook on loopback with two alert loops running at once, and ``manage.py alerts``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from queuecore import keys
from queuecore.alerts import AlertBoard, AlertService, retry_delay
from queuecore.clock import SYSTEM_CLOCK, FrozenClock
from queuecore.contrib.django.alerts import alert_service
from queuecore.contrib.django.checks import check_queuecore_settings
from tests.support.factories import seed_task
from tests.support.receivers import HttpReceiver, SmtpReceiver, wait_for

SLACK = {"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"}
MAIL = {"type": "email", "name": "ops-mail", "to": ["ops@example.com"]}


def check_ids(**overrides: Any) -> list[str]:
    merged = {**settings.QUEUECORE, **overrides}
    with override_settings(QUEUECORE=merged):
        return [message.id for message in check_queuecore_settings()]


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ({"type": "slack"}, "queuecore.E012"),
        ([{"type": "pager", "url": "https://x.example"}], "queuecore.E012"),
        ([{**SLACK, "findings": ["no_consumers"]}], "queuecore.E013"),
        ([{**SLACK, "url": "javascript:alert(1)"}], "queuecore.E014"),
        ([{"type": "webhook", "url": "ftp://files.example/in"}], "queuecore.E014"),
    ],
)
def test_bad_alert_settings_are_reported_under_their_stable_ids(alerts, expected):
    assert check_ids(ALERTS=alerts) == [expected]


# Setting the older EMAIL_* settings warns in Django 6.1; these tests set them on purpose.
OLD_MAIL_SETTINGS = pytest.mark.filterwarnings(
    "ignore::django.utils.deprecation.RemovedInDjango2028Warning"
)


@OLD_MAIL_SETTINGS
def test_an_email_channel_without_mail_settings_is_reported(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # Django's default
    assert check_ids(ALERTS=[MAIL]) == ["queuecore.E015"]


def test_an_alert_interval_under_a_second_is_reported():
    assert check_ids(ALERTS=[SLACK], ALERTS_INTERVAL=0.1) == ["queuecore.E012"]


def test_an_email_channel_passes_the_checks_once_a_mailer_is_configured(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}
    assert check_ids(ALERTS=[SLACK, MAIL]) == []
    assert check_ids(ALERTS=[{**MAIL, "mailer": "alerts"}]) == ["queuecore.E015"]


@OLD_MAIL_SETTINGS
def test_an_email_channel_passes_with_the_older_email_host_setting(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp.example.com"
    assert check_ids(ALERTS=[MAIL]) == []


@pytest.fixture
def alerting(
    settings: Any, queuecore_settings: str, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver
) -> str:
    """QUEUECORE["ALERTS"]: a signed webhook and an email channel, both on loopback."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": smtp_receiver.port, "timeout": 5},
        }
    }
    settings.DEFAULT_FROM_EMAIL = "queuecore@example.com"
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "ALERTS": [
            {"type": "webhook", "name": "hook", "url": http_receiver.url(), "secret": "k"},
            MAIL,
        ],
    }
    return queuecore_settings


@pytest.fixture
def two_loops(alerting: str) -> Iterator[list[AlertService]]:
    """Two alert services (two processes' worth) evaluating every 50 ms in their own threads."""
    services = [alert_service(alerting, clock=SYSTEM_CLOCK, interval=0.05) for _ in range(2)]
    assert all(services)
    running = [(s, threading.Event()) for s in services if s is not None]
    threads = [(s, stop, s.start(stop)) for s, stop in running]
    yield [s for s, _ in running]
    for service, stop, started in threads:
        service.stop(started, stop)
        service.close()


def settle(services: list[AlertService]) -> None:
    """Wait until each loop evaluated a few more times and every outbox is empty, so a duplicate
    message, if a loop were to decide one, would have arrived."""
    marks = [s.loop.evaluations for s in services]
    wait_for(
        lambda: (
            all(s.loop.evaluations >= m + 3 for s, m in zip(services, marks, strict=True))
            and all(s.pending() == 0 for s in services)
        ),
        what="three more evaluations of each loop",
    )


def http_events(receiver: HttpReceiver) -> list[str]:
    return [json.loads(body)["event"] for body in receiver.bodies()]


def mail_subjects(receiver: SmtpReceiver) -> list[str]:
    return [str(m["Subject"]) for m in receiver.messages]


def test_two_running_loops_send_one_opened_and_one_resolved_message_by_webhook_and_email(
    two_loops: list[AlertService],
    http_receiver: HttpReceiver,
    smtp_receiver: SmtpReceiver,
    redis_client: redis.Redis,
):
    task = seed_task(redis_client, "pending", queue="orphans")
    wait_for(lambda: http_receiver.requests and smtp_receiver.messages, what="opened messages")
    settle(two_loops)
    assert http_events(http_receiver) == ["opened"]
    assert mail_subjects(smtp_receiver) == [
        "[queuecore] [CRITICAL] no_consumer opened: queue orphans"
    ]

    redis_client.delete(keys.pending_key("orphans"), keys.task_key("orphans", task.id))
    redis_client.srem("asynq:queues", "orphans")
    wait_for(lambda: len(smtp_receiver.messages) == 2 and len(http_receiver.requests) == 2)
    settle(two_loops)
    assert http_events(http_receiver) == ["opened", "resolved"]
    assert mail_subjects(smtp_receiver) == [
        "[queuecore] [CRITICAL] no_consumer opened: queue orphans",
        "[queuecore] [CRITICAL] no_consumer resolved: queue orphans",
    ]
    opened = smtp_receiver.messages[0]
    assert opened["To"] == "ops@example.com"
    assert opened["From"] == "queuecore@example.com"
    assert opened["X-Queuecore-Event"] == "opened"
    assert "Action: Start a worker that consumes it" in opened.get_payload()


def test_alerts_dry_run_prints_what_it_would_send_and_sends_nothing(
    alerting: str, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver, redis_client
):
    seed_task(redis_client, "pending", queue="orphans")
    out = StringIO()
    call_command("alerts", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Would send opened to hook (webhook, http://127.0.0.1:" in text
    assert "Would send opened to ops-mail (email, ops@example.com):" in text
    assert "    [CRITICAL] no_consumer opened: queue orphans" in text
    assert http_receiver.requests == []
    assert smtp_receiver.messages == []
    assert redis_client.keys("queuecore:alerts:state:*") == []


def test_alerts_once_sends_and_a_second_run_has_nothing_new(
    alerting: str, http_receiver: HttpReceiver, smtp_receiver: SmtpReceiver, redis_client
):
    seed_task(redis_client, "pending", queue="orphans")
    out = StringIO()
    call_command("alerts", "--once", stdout=out)
    assert "sent      hook  [CRITICAL] no_consumer opened: queue orphans" in out.getvalue()
    assert "sent      ops-mail  [CRITICAL] no_consumer opened" in out.getvalue()
    again = StringIO()
    call_command("alerts", "--once", stdout=again)
    assert "0 message(s) decided." in again.getvalue()
    assert len(http_receiver.requests) == 1
    assert len(smtp_receiver.messages) == 1


def test_alerts_test_sends_a_test_message_and_records_it(
    alerting: str, smtp_receiver: SmtpReceiver, redis_url: str
):
    out = StringIO()
    call_command("alerts", "--test", "ops-mail", stdout=out)
    assert "Test message sent to ops-mail (ops@example.com)." in out.getvalue()
    assert mail_subjects(smtp_receiver) == ["[queuecore] Test message from queuecore alerts"]
    board = AlertBoard.from_url(redis_url)
    (record,) = board.deliveries()
    board.close()
    assert (record.channel, record.kind, record.outcome) == ("ops-mail", "test", "sent")
    with pytest.raises(CommandError, match="No alert channel named 'nope'"):
        call_command("alerts", "--test", "nope")


def test_alerts_without_channels_is_an_error(queuecore_settings: str):
    with pytest.raises(CommandError, match="No alert channels"):
        call_command("alerts", "--once")


def test_alerts_runs_until_stopped_and_says_where_it_sends(
    alerting: str, settings: Any, http_receiver: HttpReceiver, redis_client: redis.Redis
):
    settings.QUEUECORE = {**settings.QUEUECORE, "ALERTS_INTERVAL": 1}
    seed_task(redis_client, "pending", queue="orphans")
    stop = threading.Event()
    out = StringIO()
    thread = threading.Thread(
        target=call_command, args=("alerts",), kwargs={"stdout": out, "stop_event": stop}
    )
    thread.start()
    try:
        wait_for(lambda: http_receiver.requests, what="the opened message")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    text = out.getvalue()
    assert "queuecore alerts on redis://127.0.0.1:" in text
    assert "  Every 1s to 2 channel(s):" in text
    assert "    ops-mail  email  ops@example.com" in text


def test_a_mail_server_that_refuses_for_now_gets_the_message_on_a_retry(
    alerting: str, smtp_receiver: SmtpReceiver, redis_client: redis.Redis
):
    smtp_receiver.replies = ["451 4.3.0 Try again later"]
    clock = FrozenClock(1_790_000_000.0)
    service = alert_service(alerting, clock=clock)
    assert service is not None
    seed_task(redis_client, "pending", queue="orphans")
    try:
        _, first = service.run_once()
        clock.advance(2)
        _, second = service.run_once()
    finally:
        service.close()
    mail = [r for r in first + second if r.channel == "ops-mail"]
    assert [r.outcome for r in mail] == ["retrying", "sent"]
    assert "451" in mail[0].error
    assert mail_subjects(smtp_receiver) == [
        "[queuecore] [CRITICAL] no_consumer opened: queue orphans"
    ]


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 2.0), (2, 4.0), (3, 8.0), (8, 256.0), (9, 300.0), (30, 300.0)]
)
def test_retries_back_off_exponentially_up_to_the_cap(attempt, delay):
    assert retry_delay(attempt, first=2.0, cap=300.0) == delay
