"""The Breakdown panel of the queue page: what a state holds, by task type and by error signature.

Loaded by htmx once per state tab (not polled); read-only, so the viewer role is enough. Each
request counts at most one of ``SCAN_BUDGETS`` tasks (see ``dashboard.presenters.breakdown``).
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.connection import inspector
from dashboard.forms import valid_or_400
from dashboard.http import dashboard_view
from dashboard.presenters import breakdown as presenter
from dashboard.presenters.tasks import TAB_ORDER
from queuecore import TaskState
from queuecore.inspection import Breakdown


def _budgets() -> list[tuple[int, str]]:
    return [(n, f"{n:,}") for n in presenter.SCAN_BUDGETS]


class BreakdownForm(forms.Form):
    state = forms.ChoiceField(choices=[(s.value, s.value) for s in TAB_ORDER], required=False)
    group = forms.CharField(max_length=1024, required=False)
    scan = forms.TypedChoiceField(choices=_budgets, coerce=int, required=False)
    cursor = forms.RegexField(regex=r"^\d{1,12}$", required=False)


@dashboard_view
def breakdown(request: HttpRequest, queue: str) -> HttpResponse:
    data = valid_or_400(BreakdownForm(request.GET)).cleaned_data
    state = TaskState(data["state"] or TaskState.PENDING.value)
    budget = data["scan"] or presenter.SCAN_BUDGETS[0]
    cursor = data["cursor"] or None
    insp = inspector()
    group = data["group"] or None
    if state is TaskState.AGGREGATING and group is None:
        # As the queue page does: the first group when none is chosen.
        groups = insp.groups(queue)
        group = groups[0].group if groups else None
    if state is TaskState.AGGREGATING and group is None:
        insp.get_queue_info(queue, cheap=True)  # an unknown queue is still a 404
        result = Breakdown(queue=queue, state=state)
    else:
        result = insp.breakdown(queue, state, group=group, budget=budget, cursor=cursor)
    context = {"panel": presenter.panel(result, budget=budget, offset=int(cursor or 0))}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "dashboard/_breakdown.html#panel", context)
    return render(request, "dashboard/_breakdown.html", context)
