"""Real receivers on loopback for the alert tests."""

from tests.support.receivers import http_receiver, smtp_receiver  # noqa: F401
