"""Input of every page and action, validated; anything invalid becomes a 400, never a 500."""

from __future__ import annotations

import base64
import binascii
import unicodedata
import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import BadRequest
from django.utils import timezone

from dashboard.converters import MAX_NAME
from dashboard.models import CHART_RANGES, UserSettings
from dashboard.presenters.tasks import PAGE_SIZES, TAB_ORDER
from queuecore import Task, TaskInfo, TaskState
from queuecore.options import OPTION_NAMES

MAX_PAGE = 1_000_000
MAX_SELECTED = 1000
# Database row numbers (recycle-bin copies, audit entries): SQLite's and PostgreSQL's bigint.
MAX_ROW_NUMBER = 2**63 - 1


def valid_or_400[F: forms.Form](form: F) -> F:
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
        )
        raise BadRequest(problems)
    return form


def parse_int(raw: str | None, *, default: int, low: int, high: int, name: str) -> int:
    """A bounded integer from a query or form parameter; anything else is a 400."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def row_number(raw: str, name: str = "entry number") -> int:
    """A database row's number from a form, bounded so it never overflows the column."""
    return parse_int(raw, default=0, low=1, high=MAX_ROW_NUMBER, name=name)


class TaskListForm(forms.Form):
    state = forms.ChoiceField(choices=[(s.value, s.value) for s in TAB_ORDER], required=False)
    page = forms.IntegerField(min_value=1, max_value=MAX_PAGE, required=False)
    size = forms.TypedChoiceField(choices=[(n, n) for n in PAGE_SIZES], coerce=int, required=False)
    group = forms.CharField(max_length=1024, required=False)
    type = forms.CharField(max_length=1024, required=False, strip=False)
    error = forms.CharField(max_length=1024, required=False, strip=False)
    text = forms.CharField(max_length=1024, required=False, strip=False)
    cursor = forms.CharField(max_length=256, required=False)

    def task_state(self, default: TaskState) -> TaskState:
        raw = self.cleaned_data.get("state")
        return TaskState(raw) if raw else default

    @property
    def searching(self) -> bool:
        return any(self.cleaned_data.get(name) for name in ("type", "error", "text"))


class SelectionForm(forms.Form):
    ids = forms.CharField(required=False)
    group = forms.CharField(max_length=1024, required=False)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.selected: list[str] = [i for i in data.getlist("ids") if i][: MAX_SELECTED + 1]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.selected:
            raise forms.ValidationError("Select at least one task.")
        if len(self.selected) > MAX_SELECTED:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED} tasks at a time.")
        if any(len(i) > MAX_NAME for i in self.selected):
            raise forms.ValidationError(f"A task id is longer than {MAX_NAME} characters.")
        return cleaned


class JumpForm(forms.Form):
    id = forms.CharField(max_length=MAX_NAME, required=False)


class ChartRangeForm(forms.Form):
    range = forms.TypedChoiceField(choices=CHART_RANGES, coerce=int, required=False)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class SettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=time_zone_choices)

    class Meta:
        model = UserSettings
        fields = ["refresh_interval", "time_zone", "theme"]


class AuditFilterForm(forms.Form):
    queue = forms.CharField(max_length=255, required=False)
    username = forms.CharField(max_length=150, required=False)
    action = forms.CharField(max_length=40, required=False)
    # An Outcome value, or "interrupted" (a running entry whose heartbeat went stale).
    outcome = forms.CharField(max_length=11, required=False)


# --- creating tasks (enqueue, clone) ------------------------------------------------------------

MAX_SECONDS = 100 * 365 * 24 * 3600  # far beyond any real option, far below an overflow
_MOMENT_WIDGET = {"type": "datetime-local", "step": "1"}
_MOMENT_FORMAT = "%Y-%m-%dT%H:%M:%S"
# A clone of a task enqueued with a unique lock proposes this TTL: asynq keeps the lock's key
# with the task (TaskInfo.unique_key) but not its TTL.
CLONE_UNIQUE_TTL = 3600


class EnqueueForm(forms.Form):
    """A new task: type, payload (UTF-8 text or base64) and asynq's enqueue options.

    Text payloads are stored as their UTF-8 bytes, with the browser's CRLF line breaks as LF;
    anything else (binary, CR, control characters) goes as base64 and is stored byte for byte.
    Blank options take asynq's defaults. Times are read in the user's time zone.
    """

    queue = forms.CharField(
        max_length=1024,
        help_text="An existing queue, or a new one (created by this task, as asynq does).",
    )
    type = forms.CharField(
        max_length=1024, strip=False, help_text="The handler's type name, e.g. email:send."
    )
    encoding = forms.ChoiceField(
        label="Payload as",
        choices=[("text", "Text (UTF-8)"), ("base64", "Base64 (binary)")],
        initial="text",
        widget=forms.RadioSelect,
    )
    payload = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text="Text (JSON is text) is stored as its UTF-8 bytes with line breaks as LF; "
        "binary data goes as base64. Empty: no payload.",
    )
    process_in = forms.IntegerField(
        label="Process in (seconds)",
        min_value=0,
        max_value=MAX_SECONDS,
        required=False,
        help_text="Blank or 0: now.",
    )
    process_at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(_MOMENT_WIDGET, format=_MOMENT_FORMAT)
    )
    max_retry = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, help_text="Default 25."
    )
    timeout = forms.IntegerField(
        label="Timeout (seconds)",
        min_value=0,
        max_value=MAX_SECONDS,
        required=False,
        help_text="How long one attempt may run; default 1800 unless a deadline is set.",
    )
    deadline = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(_MOMENT_WIDGET, format=_MOMENT_FORMAT)
    )
    unique = forms.IntegerField(
        label="Unique TTL (seconds)",
        min_value=1,
        max_value=MAX_SECONDS,
        required=False,
        help_text="Hold a unique lock on (queue, type, payload) this long.",
    )
    task_id = forms.CharField(
        label="Task ID", max_length=1024, required=False, help_text="Blank: a random UUID."
    )
    retention = forms.IntegerField(
        label="Retention (seconds)",
        min_value=0,
        max_value=MAX_SECONDS,
        required=False,
        help_text="Keep the task as completed this long after success.",
    )
    group = forms.CharField(
        max_length=1024, required=False, help_text="Aggregate the task in this group."
    )
    headers = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "mono"}),
        help_text="One key=value per line.",
    )
    source = forms.CharField(max_length=2200, required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = f"In your time zone ({timezone.get_current_timezone_name()})."
        self.fields["process_at"].help_text = zone
        self.fields["deadline"].help_text = zone

    def clean_type(self) -> str:
        value: str = self.cleaned_data["type"]
        if not value.strip():
            raise forms.ValidationError("The task type cannot be blank.")
        return value

    def clean_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["headers"].splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise forms.ValidationError(f"Line {number} is not key=value: {line!r}")
            headers[key.strip()] = value
        return headers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("process_in") is not None and data.get("process_at") is not None:
            self.add_error("process_at", "Give “process in” or “process at”, not both.")
        raw = data.get("payload") or ""
        if data.get("encoding") == "base64":
            try:
                data["payload_bytes"] = base64.b64decode("".join(raw.split()), validate=True)
            except (binascii.Error, ValueError) as exc:
                self.add_error("payload", f"This is not valid base64 ({exc}).")
        else:
            data["payload_bytes"] = raw.replace("\r\n", "\n").encode("utf-8")
        return data

    def task(self) -> Task:
        """The task to enqueue (an empty payload is Go's nil payload)."""
        return Task(self.cleaned_data["type"], self.cleaned_data["payload_bytes"] or None)

    def options(self) -> dict[str, Any]:
        """Client.enqueue keywords for the options given; blank ones are left to asynq."""
        data = self.cleaned_data
        return {n: v for n in OPTION_NAMES if (v := data.get(n)) not in (None, "", {})}


def plain_text(payload: bytes) -> str | None:
    """The payload as text when a textarea carries it back unchanged, else None."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in text):
        return None
    return text


def initial_from_task(task: TaskInfo) -> dict[str, Any]:
    """The enqueue form filled from an existing task (never its id; see the clone view)."""
    text = plain_text(task.payload)
    return {
        "queue": task.queue,
        "type": task.type,
        "payload": text if text is not None else base64.b64encode(task.payload).decode(),
        "encoding": "text" if text is not None else "base64",
        "max_retry": task.max_retry,
        "timeout": int(task.timeout.total_seconds()) or None,
        "deadline": task.deadline,
        "retention": int(task.retention.total_seconds()) or None,
        "unique": CLONE_UNIQUE_TTL if task.unique_key else None,
        "group": task.group or None,
        "headers": "".join(f"{k}={v}\n" for k, v in sorted(task.headers.items())),
        "source": f"task {task.id} of queue {task.queue}",
    }
