"""The user's own settings, and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.forms import MAX_PAGE, AuditFilterForm, SettingsForm, parse_int, valid_or_400
from dashboard.http import dashboard_view, prefs, render_page
from dashboard.models import HEARTBEAT_TIMEOUT, AuditEntry, Outcome
from dashboard.scope import redirect
from queuecore.contrib.django import instances

INTERRUPTED = "interrupted"

AUDIT_PAGE_SIZE = 50


@dashboard_view
def user_settings(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST or None, instance=prefs(request))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("dashboard:settings")
    return render(
        request, "dashboard/settings.html", {"form": form}, status=400 if form.errors else 200
    )


def _with_outcome(entries: QuerySet[AuditEntry], outcome: str) -> QuerySet[AuditEntry]:
    """Entries showing ``outcome``: "interrupted" is not stored but shown for a running entry
    silent past HEARTBEAT_TIMEOUT (AuditEntry.is_interrupted), so "running" means live ones."""
    if outcome not in (Outcome.RUNNING, INTERRUPTED):
        return entries.filter(outcome=outcome)
    cutoff = timezone.now() - HEARTBEAT_TIMEOUT
    stale = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, at__lt=cutoff)
    running = entries.filter(outcome=Outcome.RUNNING)
    return running.filter(stale) if outcome == INTERRUPTED else running.exclude(stale)


@dashboard_view
def audit_log(request: HttpRequest) -> HttpResponse:
    filters = valid_or_400(AuditFilterForm(request.GET)).cleaned_data
    entries = AuditEntry.objects.filter(instance=instances.current_name())
    for field in ("queue", "username", "action"):
        if filters.get(field):
            entries = entries.filter(**{field: filters[field]})
    if filters.get("outcome"):
        entries = _with_outcome(entries, filters["outcome"])
    number = parse_int(request.GET.get("page"), default=1, low=1, high=MAX_PAGE, name="page")
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(
        request,
        "dashboard/audit.html",
        {"page": page, "query": query.urlencode(), "filters": filters},
    )
