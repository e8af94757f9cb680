"""The Alerts page (what the alert loops found and sent) and its "send a test message" action.

The test action is POST + CSRF + the operate permission, through the one action path
(``dashboard.changes``, audited as ``send_test_alert``); it sends one message synchronously,
bounded by the channel's timeout, and logs it with the deliveries.
"""

from __future__ import annotations

from django.core.exceptions import BadRequest, ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from dashboard import changes
from dashboard.access import Abilities
from dashboard.connection import alert_board
from dashboard.http import action_reply, dashboard_view, render_page
from dashboard.models import Outcome
from dashboard.presenters import alerts as presenter
from dashboard.scope import reverse
from queuecore.alerts import AlertMessage, Channel, send_now
from queuecore.clock import SYSTEM_CLOCK
from queuecore.contrib.django.alerts import alert_channels, sender_for

DELIVERIES_SHOWN = 50


@dashboard_view
def alerts(request: HttpRequest) -> HttpResponse:
    board, now = alert_board(), SYSTEM_CLOCK.now()
    try:
        channels, error = alert_channels(), ""
    except ImproperlyConfigured as exc:
        channels, error = [], str(exc)
    view = presenter.page(
        channels,
        board.open_alerts(channels),
        board.deliveries(DELIVERIES_SHOWN),
        board.last_run(),
        now,
    )
    context = {
        "view": view,
        "settings_error": error,
        "can_test": Abilities.of(request.user).operate,
    }
    return render_page(request, "dashboard/alerts.html", context)


@require_POST
@dashboard_view
def send_test(request: HttpRequest) -> HttpResponse:
    actor = changes.Actor(request)
    with changes.change(actor, "send_test_alert", allowed=actor.can.operate, total=1) as done:
        channel = _channel(request.POST.get("channel", ""))
        now = SYSTEM_CLOCK.now()
        message = AlertMessage.test(channel.name, now)
        sender = sender_for(channel, SYSTEM_CLOCK)
        record = send_now(channel, sender, message, alert_board().store, now)
        sent = record.outcome == "sent"
        done.count = 1 if sent else 0
        done.outcome = Outcome.SUCCEEDED if sent else Outcome.FAILED
        done.detail = f"Test message to {channel.name} ({channel.target}): " + (
            "sent." if sent else f"failed: {record.error}"
        )
    return action_reply(
        request, done.detail, level="success" if sent else "error",
        fallback=reverse("dashboard:alerts"),
    )  # fmt: skip


def _channel(name: str) -> Channel:
    try:
        channels = {c.name: c for c in alert_channels()}
    except ImproperlyConfigured as exc:
        raise BadRequest(str(exc)) from exc
    if name not in channels:
        raise BadRequest(f"No alert channel named {name[:80]!r}.")
    return channels[name]
