"""Alerts: tell someone when the health findings say a queue is in trouble.

Channels (:mod:`~queuecore.alerts.channels`) say where messages go and which findings they want;
the loop (:mod:`~queuecore.alerts.loop`) evaluates the findings on an interval and sends one
message when a finding opens, reminders while it stays open, and one when it resolves;
outboxes (:mod:`~queuecore.alerts.outbox`) deliver with retries. State lives in Redis under
``queuecore:alerts:`` (:mod:`queuecore.rdb.alerts`), so several loops send each message once.
"""

from queuecore.alerts.board import AlertBoard, OpenAlert
from queuecore.alerts.channels import CHANNEL_TYPES, Channel, ChannelError, channels_from_setting
from queuecore.alerts.delivery import (
    AlertMessage,
    DeliveryError,
    Sender,
    http_sender,
    signature,
    verify_signature,
)
from queuecore.alerts.loop import AlertLoop, AlertService, Planned
from queuecore.alerts.outbox import DeliveryRecord, Outbox, retry_delay, send_now
from queuecore.alerts.state import AlertState, Decision, Kind, decide, finding_key

__all__ = [
    "CHANNEL_TYPES",
    "AlertBoard",
    "AlertLoop",
    "AlertMessage",
    "AlertService",
    "AlertState",
    "Channel",
    "ChannelError",
    "Decision",
    "DeliveryError",
    "DeliveryRecord",
    "Kind",
    "OpenAlert",
    "Outbox",
    "Planned",
    "Sender",
    "channels_from_setting",
    "decide",
    "finding_key",
    "http_sender",
    "retry_delay",
    "send_now",
    "signature",
    "verify_signature",
]
