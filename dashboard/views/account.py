"""The user's own settings, and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard.forms import AuditFilterForm, SettingsForm, valid_or_400
from dashboard.http import dashboard_view, parse_int, prefs, render_page
from dashboard.models import AuditEntry

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


@dashboard_view
def audit_log(request: HttpRequest) -> HttpResponse:
    filters = valid_or_400(AuditFilterForm(request.GET)).cleaned_data
    entries = AuditEntry.objects.all()
    for field in ("queue", "username", "action", "outcome"):
        if filters.get(field):
            entries = entries.filter(**{field: filters[field]})
    number = parse_int(request.GET.get("page"), default=1, low=1, high=1_000_000, name="page")
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(
        request,
        "dashboard/audit.html",
        {"page": page, "query": query.urlencode(), "filters": filters},
    )
