"""What the dashboard stores itself: per-user settings, the audit log, and its permissions.

Task data never lives here; it is read from Redis through the Inspector on every request.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

REFRESH_CHOICES = [(0, "Off"), (2, "2 s"), (4, "4 s"), (8, "8 s"), (15, "15 s"), (30, "30 s")]
CHART_RANGES = [(1, "Today"), (7, "7 days"), (30, "30 days"), (90, "90 days")]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone: {value}")


class Dashboard(models.Model):
    """No table: only carries the dashboard's permissions, which the roles are built from."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "Can view queues, tasks, servers and Redis"),
            ("operate_tasks", "Can run, archive, delete and cancel tasks and pause queues"),
            ("administer_queues", "Can delete queues and act on all archived tasks"),
        ]

    def __str__(self) -> str:
        return "dashboard"


class Theme(models.TextChoices):
    SYSTEM = "system", "System"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class UserSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboard_settings"
    )
    # Asynqmon polls every 8 s by default; 0 turns polling off.
    refresh_interval = models.PositiveSmallIntegerField(choices=REFRESH_CHOICES, default=8)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    chart_range = models.PositiveSmallIntegerField(choices=CHART_RANGES, default=1)
    page_size = models.PositiveSmallIntegerField(default=20)

    class Meta:
        verbose_name = "user settings"
        verbose_name_plural = "user settings"

    def __str__(self) -> str:
        return f"settings of {self.user}"


class Outcome(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partly done"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"


# A background operation's thread refreshes ``heartbeat_at`` with every progress update (several
# a second while it works); one silent for longer than this died with its web process.
HEARTBEAT_TIMEOUT = timedelta(seconds=30)


class AuditEntry(models.Model):
    """One change made through the dashboard: who, when, what, on which tasks, with what result."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept apart from the foreign key so the log survives the user's deletion.
    username = models.CharField(max_length=150)
    action = models.CharField(max_length=40, db_index=True)
    queue = models.CharField(max_length=255, blank=True, db_index=True)
    state = models.CharField(max_length=16, blank=True)
    group = models.CharField(max_length=255, blank=True)
    task_ids = models.JSONField(default=list, blank=True)
    count = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of the thread doing a background operation; null for in-request changes.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The Redis instance changed (QUEUECORE["INSTANCES"]; "default" is REDIS_URL's).
    instance = models.CharField(max_length=40, default="default", db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.queue} ({self.shown_outcome})"

    def is_interrupted(self, now: datetime | None = None) -> bool:
        """Still "running" but its thread has been silent too long: the web process died.

        Nothing resumes it; the actions are idempotent per task, so the user starts it again.
        """
        if self.outcome != Outcome.RUNNING:
            return False
        last_seen = self.heartbeat_at or self.at
        return last_seen is not None and (now or timezone.now()) - last_seen > HEARTBEAT_TIMEOUT

    @property
    def interrupted(self) -> bool:
        return self.is_interrupted()

    @property
    def shown_outcome(self) -> str:
        """The outcome to show: "interrupted" for a running entry whose thread is gone."""
        return "interrupted" if self.interrupted else str(self.outcome)


class DeletedTask(models.Model):
    """A copy of a task deleted through the dashboard, kept for the recycle bin (dashboard.recycle).

    ``record`` is the task in the export format (``queuecore.export.task_record``), which is what a
    restore replays. Kept ``QUEUECORE["RECYCLE_BIN_HOURS"]``, then purged lazily.
    """

    queue = models.CharField(max_length=255)
    state = models.CharField(max_length=16)
    task_id = models.TextField()
    type = models.TextField()
    record = models.JSONField()
    deleted_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    # The deletion's audit entry; restore-all works per entry. Pruning the log keeps the copies.
    audit = models.ForeignKey(
        AuditEntry, null=True, on_delete=models.SET_NULL, related_name="deleted_tasks"
    )
    # The Redis instance the task was deleted from, which a restore writes it back to.
    instance = models.CharField(max_length=40, default="default", db_index=True)

    class Meta:
        ordering = ["-deleted_at", "-id"]
        verbose_name = "deleted task"
        verbose_name_plural = "recently deleted tasks"

    def __str__(self) -> str:
        return f"{self.queue}/{self.task_id} deleted by {self.username}"
