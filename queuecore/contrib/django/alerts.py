"""Alerts from Django settings: the channels of ``QUEUECORE["ALERTS"]``, email through Django's
mail settings, and the alert service that ``runscheduler``, ``runworker --with-scheduler`` and
``manage.py alerts`` run.

Email goes through ``MAILERS[<channel's "mailer">]`` when ``MAILERS`` is set (Django 6.1), else
through the older ``EMAIL_*`` settings; any SMTP server works. The channel's ``timeout`` applies
when the mailer sets none, so a hanging SMTP server cannot hold an outbox forever.
"""

from __future__ import annotations

import os
import smtplib
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from queuecore.alerts import (
    AlertMessage,
    AlertService,
    Channel,
    ChannelError,
    DeliveryError,
    Sender,
    channels_from_setting,
    http_sender,
)
from queuecore.clock import Clock
from queuecore.contrib.django.conf import queuecore_setting
from queuecore.errors import QueueCoreError
from queuecore.health import HealthThresholds

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def alert_channels() -> list[Channel]:
    """``QUEUECORE["ALERTS"]`` as channels; ImproperlyConfigured names the bad item."""
    try:
        return channels_from_setting(queuecore_setting("ALERTS") or [])
    except ChannelError as exc:
        raise ImproperlyConfigured(f'QUEUECORE["ALERTS"]: {exc}') from exc


def alert_interval() -> float:
    """``QUEUECORE["ALERTS_INTERVAL"]``: seconds between evaluations (at least 1)."""
    value = queuecore_setting("ALERTS_INTERVAL")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        raise ImproperlyConfigured(
            f'QUEUECORE["ALERTS_INTERVAL"] must be seconds >= 1, got {value!r}'
        )
    return float(value)


def mail_problem(channel: Channel) -> str | None:
    """Why ``channel`` (an email channel) cannot send with these settings, or None."""
    mailers = getattr(settings, "MAILERS", None)
    if mailers is not None:
        if channel.mailer not in mailers:
            return f'MAILERS has no "{channel.mailer}" mailer for email channel {channel.name!r}'
        return None
    with warnings.catch_warnings():
        # Reading the older EMAIL_* settings warns in Django 6.1; the user hears it elsewhere.
        warnings.simplefilter("ignore")
        backend = settings.EMAIL_BACKEND
        host_set = settings.is_overridden("EMAIL_HOST")  # type: ignore[misc]
    if backend == SMTP_BACKEND and not host_set:
        return (
            f"email channel {channel.name!r} needs mail settings: set MAILERS (or EMAIL_HOST "
            "and friends) to the SMTP server to send through"
        )
    return None


def _connection(channel: Channel) -> Any:
    """The channel's mail backend (Any: backends differ, the SMTP one has ``timeout``)."""
    from django.core.mail import mailers

    try:
        if hasattr(settings, "MAILERS"):
            connection: Any = mailers[channel.mailer]
        else:
            connection = mailers.create_connection("default")
    except Exception as exc:  # MailerDoesNotExist, InvalidMailer, ImportError of a backend
        raise DeliveryError(f"mailer {channel.mailer!r}: {exc}", retryable=False) from exc
    if getattr(connection, "timeout", 0) is None:
        connection.timeout = channel.timeout
    return connection


class EmailSender:
    """One plain-text email per message to the channel's recipients."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: AlertMessage) -> None:
        from django.core.mail import EmailMessage

        subject = " ".join(f"[queuecore] {message.title}".split())  # never a multi-line header
        email = EmailMessage(
            subject=subject[:200],
            body=message.as_text(),
            from_email=self.channel.from_email or None,
            to=list(self.channel.to),
            headers={"X-Queuecore-Event": message.kind.value, "X-Queuecore-Delivery": message.id},
        )
        connection = _connection(self.channel)
        try:
            sent = connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipients refused: {exc}", retryable=False) from exc
        except TimeoutError as exc:
            raise DeliveryError(
                f"no reply from the mail server within {self.channel.timeout:g}s"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail not sent: {exc}") from exc
        if not sent:
            raise DeliveryError("the mail backend sent nothing")


def sender_for(channel: Channel, clock: Clock) -> Sender:
    if channel.type == "email":
        return EmailSender(channel)
    return http_sender(channel, now=clock.now)


def alert_service(
    url: str, *, clock: Clock, owner: str = "", interval: float | None = None
) -> AlertService | None:
    """The alert service of these settings on the Redis at ``url``; None without channels.

    ``interval`` overrides ``QUEUECORE["ALERTS_INTERVAL"]`` (tests evaluate faster).

    Raises ImproperlyConfigured for bad settings (the system checks report them first).
    """
    channels = alert_channels()
    if not channels:
        return None
    try:
        thresholds = HealthThresholds.from_mapping(queuecore_setting("HEALTH"))
    except (QueueCoreError, TypeError) as exc:
        raise ImproperlyConfigured(f'QUEUECORE["HEALTH"] is invalid: {exc}') from exc
    senders = {c.name: sender_for(c, clock) for c in channels}
    return AlertService.from_url(
        url,
        channels,
        senders,
        thresholds=thresholds,
        clock=clock,
        interval=alert_interval() if interval is None else interval,
        owner=owner or f"{socket.gethostname()}:{os.getpid()}",
    )


@contextmanager
def alerts_alongside(url: str, *, clock: Clock, enabled: bool = True) -> Iterator[list[str]]:
    """Run the alert service in daemon threads for the duration of the block (the scheduler's
    commands use this); yields banner lines. Nothing runs without channels or when disabled."""
    service = alert_service(url, clock=clock) if enabled else None
    if service is None:
        yield []
        return
    stop = threading.Event()
    threads = service.start(stop)
    names = ", ".join(c.name for c in service.loop.channels)
    try:
        yield [f"  Alerts:   every {service.loop.interval:g}s to {names}"]
    finally:
        service.stop(threads, stop)
        service.close()
