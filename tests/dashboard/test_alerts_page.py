"""The Alerts page: open alerts, deliveries and failures as the alert loop recorded them, and the
operators' audited "send a test message" (POST + CSRF + operate permission)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.test import Client

from dashboard.models import AuditEntry, Outcome
from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django.alerts import alert_service
from tests.support.factories import seed_task
from tests.support.receivers import HttpReceiver

PAGE = "/alerts/"
TEST = "/alerts/test"


@pytest.fixture
def alerting(settings: Any, queuecore_settings: str, http_receiver: HttpReceiver) -> str:
    settings.QUEUECORE = {
        **settings.QUEUECORE,
        "ALERTS": [
            {"type": "webhook", "name": "pager", "url": http_receiver.url(), "max_attempts": 3},
        ],
    }
    return queuecore_settings


def evaluate_once(url: str) -> None:
    """One evaluation and one delivery round of an alert loop, as runscheduler would run it."""
    service = alert_service(url, clock=SYSTEM_CLOCK)
    assert service is not None
    try:
        service.run_once()
    finally:
        service.close()


def test_the_alerts_page_needs_a_login_and_is_in_the_nav(client: Client, viewer: Client, db):
    assert Client().get(PAGE).status_code == 302
    page = viewer.get(PAGE)
    assert page.status_code == 200
    assert b'href="/alerts/"' in page.content
    assert b"No alert channels are configured" in page.content


def test_a_failing_receiver_shows_as_a_retrying_delivery_with_its_error_on_the_page(
    alerting: str, viewer: Client, http_receiver: HttpReceiver, redis_client: redis.Redis
):
    http_receiver.statuses = [500]
    seed_task(redis_client, "pending", queue="orphans")
    evaluate_once(alerting)
    assert len(http_receiver.requests) == 1

    html = viewer.get(PAGE).content.decode()
    assert 'data-failures="1"' in html
    assert "1 of the last 1 delivery attempt failed" in html
    assert 'data-delivery="retrying"' in html
    assert "HTTP 500" in html
    assert "1 of 3" in html
    assert 'data-open-alert="no_consumer"' in html
    assert "queue orphans" in html
    assert 'badge-ok">running' in html


def test_the_page_says_when_no_alert_loop_has_run(alerting: str, viewer: Client):
    html = viewer.get(PAGE).content.decode()
    assert "No alert loop has evaluated the findings yet" in html
    assert 'data-channel="pager"' in html


def test_hostile_queue_names_are_escaped_on_the_page(
    alerting: str, viewer: Client, redis_client: redis.Redis
):
    seed_task(redis_client, "pending", queue="<script>alert(1)</script>")
    evaluate_once(alerting)
    html = viewer.get(PAGE).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_operator_sends_a_test_message_and_it_is_audited(
    alerting: str, operator: Client, http_receiver: HttpReceiver
):
    page = operator.get(PAGE).content.decode()
    assert "Send a test message" in page
    response = operator.post(TEST, {"channel": "pager"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Test message to pager (http://127.0.0.1:" in response.content.decode()
    (request,) = http_receiver.requests
    assert json.loads(request.body)["event"] == "test"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.count) == ("send_test_alert", Outcome.SUCCEEDED, 1)
    assert 'data-delivery="sent"' in operator.get(PAGE).content.decode()


def test_a_failed_test_message_is_reported_and_audited_as_failed(
    alerting: str, operator: Client, http_receiver: HttpReceiver
):
    http_receiver.statuses = [503]
    response = operator.post(TEST, {"channel": "pager"}, HTTP_HX_REQUEST="true")
    assert "failed: HTTP 503" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert (entry.outcome, entry.count) == (Outcome.FAILED, 0)
    # Without htmx (the page's plain form): back to the page, the outcome shown there.
    http_receiver.statuses = [503]
    response = operator.post(TEST, {"channel": "pager"}, follow=True)
    assert response.redirect_chain == [("/alerts/", 302)]
    assert "failed: HTTP 503" in response.content.decode()


def test_viewers_get_no_test_button_and_their_post_is_refused_and_audited(
    alerting: str, viewer: Client, http_receiver: HttpReceiver
):
    assert "Send a test message" not in viewer.get(PAGE).content.decode()
    assert viewer.post(TEST, {"channel": "pager"}).status_code == 403
    assert http_receiver.requests == []
    assert AuditEntry.objects.get().outcome == Outcome.REFUSED


def test_the_test_message_needs_post_csrf_and_a_known_channel(
    alerting: str, operator: Client, make_user: Callable[..., Any]
):
    assert operator.get(TEST).status_code == 405
    assert operator.post(TEST, {"channel": "nope"}).status_code == 400
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user("operator", "strict-operator"))
    assert strict.post(TEST, {"channel": "pager"}).status_code == 403


def test_invalid_alert_settings_show_a_banner_not_an_error(
    settings: Any, viewer: Client, queuecore_settings: str
):
    settings.QUEUECORE = {**settings.QUEUECORE, "ALERTS": [{"type": "pager"}]}
    page = viewer.get(PAGE)
    assert page.status_code == 200
    assert "The alert settings are invalid" in page.content.decode()


def test_a_finding_waiting_for_open_after_is_listed_as_pending(
    settings: Any, alerting: str, viewer: Client, redis_client: redis.Redis
):
    (channel,) = settings.QUEUECORE["ALERTS"]
    settings.QUEUECORE = {**settings.QUEUECORE, "ALERTS": [{**channel, "open_after": 300}]}
    seed_task(redis_client, "pending", queue="orphans")
    evaluate_once(alerting)
    html = viewer.get(PAGE).content.decode()
    assert 'data-open-alert="no_consumer"' in html
    assert ">pending</span>" in html
    assert "data-delivery=" not in html  # nothing was sent
