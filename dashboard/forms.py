"""Input of every page and action, validated; anything invalid becomes a 400, never a 500."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.core.exceptions import BadRequest

from dashboard.models import CHART_RANGES, UserSettings
from dashboard.presenters.tasks import PAGE_SIZES, TAB_ORDER
from queuecore import TaskState

MAX_PAGE = 1_000_000
MAX_SELECTED = 1000


def valid_or_400[F: forms.Form](form: F) -> F:
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(str(e) for e in errors)}" for field, errors in form.errors.items()
        )
        raise BadRequest(problems)
    return form


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
        return cleaned


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
    outcome = forms.CharField(max_length=10, required=False)
