"""Read-only pages: overview, queue, task, servers, schedulers, Redis."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.access import Abilities
from dashboard.connection import inspector, queue_info, queue_infos
from dashboard.forms import (
    MAX_PAGE,
    ChartRangeForm,
    JumpForm,
    TaskListForm,
    parse_int,
    valid_or_400,
)
from dashboard.http import dashboard_view, prefs, render_page
from dashboard.models import CHART_RANGES
from dashboard.presenters import tasks as task_views
from dashboard.presenters.formatting import format_rate
from dashboard.presenters.queues import overview as overview_of
from dashboard.presenters.system import redis_view, scheduler_rows, server_rows
from dashboard.scope import redirect
from dashboard.views.findings import panel_of
from queuecore import TaskState
from queuecore.inspection import TaskPage, WorkerInfo

SEARCH_BUDGET = 2000


@dashboard_view
def overview(request: HttpRequest) -> HttpResponse:
    chosen = valid_or_400(ChartRangeForm(request.GET)).cleaned_data["range"]
    settings = prefs(request)
    if chosen and chosen != settings.chart_range:
        settings.chart_range = chosen
        settings.save(update_fields=["chart_range"])
    insp = inspector()
    infos = queue_infos(insp)
    days = settings.chart_range
    histories = {i.queue: insp.history(i.queue, days=days) for i in infos} if days > 1 else {}
    view = overview_of(infos, histories, days)
    # The findings come from the same queue read, and ride in the same reply (full page or poll).
    context = {"view": view, "ranges": CHART_RANGES, "panel": panel_of(insp, queues=infos)}
    return render_page(request, "dashboard/overview.html", context)


@dashboard_view
def queue_detail(request: HttpRequest, queue: str) -> HttpResponse:
    form = valid_or_400(TaskListForm(request.GET))
    data, insp = form.cleaned_data, inspector()
    state = form.task_state(TaskState.PENDING)
    size, number = data["size"] or prefs(request).page_size, data["page"] or 1
    info = queue_info(insp, queue)
    groups = insp.groups(queue) if state is TaskState.AGGREGATING else []
    group = data["group"] or (groups[0].group if groups else None)
    aggregating_without_group = state is TaskState.AGGREGATING and not group
    listed = TaskPage() if form.searching or aggregating_without_group else (
        insp.list_tasks(queue, state, number, size, group)
    )  # fmt: skip
    view = task_views.queue_page(
        info=info, state=state, tasks=listed, total=listed.total, page=number, page_size=size,
        groups=groups, group=group, workers=_workers() if state is TaskState.ACTIVE else {},
        can=Abilities.of(request.user), now=timezone.now(), skipped=listed.skipped,
    )  # fmt: skip
    if form.searching:
        return _search(request, form, view)
    context = {**_queue_context(view, insp.queues()), "unreadable_ids": listed.skipped_ids}
    return render_page(request, "dashboard/queue.html", context)


def _search(request: HttpRequest, form: TaskListForm, page: task_views.QueuePage) -> HttpResponse:
    """Bounded search within the state: at most SEARCH_BUDGET tasks per request; "scan more"
    continues from the returned cursor and appends its matches to the table."""
    data = form.cleaned_data
    found = inspector().search(
        page.info.queue,
        page.state,
        text=data["text"] or None,
        type=data["type"] or None,
        error=data["error"] or None,
        group=page.group,
        cursor=data["cursor"] or None,
        budget=SEARCH_BUDGET,
    )
    view = task_views.searched(page, found.tasks, found.skipped, timezone.now())
    params = {k: v for k in ("state", "group", "type", "error", "text") if (v := data.get(k))}
    search = {
        **params,
        "scanned": found.scanned,
        "matches": len(found.tasks),
        "cursor": found.cursor,
        "more_url": "?" + urlencode({**params, "cursor": found.cursor or ""}),
    }
    context = {**_queue_context(view, inspector().queues()), "search": search}
    if request.htmx and data["cursor"]:  # type: ignore[attr-defined]
        return render(request, "dashboard/queue.html#more", {**context, "more": True})
    return render_page(request, "dashboard/queue.html", context)


def _queue_context(view: task_views.QueuePage, queues: list[str]) -> dict[str, object]:
    params = {"state": view.state.value, "size": view.pager.page_size}
    if view.group:
        params["group"] = view.group
    return {
        "view": view,
        "queues": queues,
        "page_sizes": task_views.PAGE_SIZES,
        "error_rate": format_rate(view.info.failed, view.info.processed),
        "page_url": "?" + urlencode(params) + "&page=",
    }


def _workers() -> dict[str, WorkerInfo]:
    servers = inspector().servers()
    return task_views.workers_by_task(w for s in servers for w in s.active_workers)


@dashboard_view
def jump(request: HttpRequest, queue: str) -> HttpResponse:
    task_id = valid_or_400(JumpForm(request.GET)).cleaned_data["id"]
    task = inspector().get_task_info(queue, task_id or " ")
    return redirect("dashboard:task", task.queue, task.id)


@dashboard_view
def task_detail(request: HttpRequest, queue: str, task_id: str) -> HttpResponse:
    task = inspector().get_task_info(queue, task_id)
    detail = task_views.task_detail(task, Abilities.of(request.user), timezone.now())
    return render_page(request, "dashboard/task.html", {"detail": detail})


@dashboard_view
def task_raw(request: HttpRequest, queue: str, task_id: str, part: str) -> HttpResponse:
    task = inspector().get_task_info(queue, task_id)
    data = task.payload if part == "payload" else (task.result or b"")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{part}.bin"'
    return response


@dashboard_view
def servers(request: HttpRequest) -> HttpResponse:
    rows = server_rows(inspector().servers())
    return render_page(request, "dashboard/servers.html", {"servers": rows})


@dashboard_view
def schedulers(request: HttpRequest) -> HttpResponse:
    rows = scheduler_rows(inspector().scheduler_entries())
    return render_page(request, "dashboard/schedulers.html", {"entries": rows})


@dashboard_view
def scheduler_history(request: HttpRequest, entry_id: str) -> HttpResponse:
    page = parse_int(request.GET.get("page"), default=1, low=1, high=MAX_PAGE, name="page")
    events = inspector().scheduler_enqueue_events(entry_id, page, 20)
    context = {"entry_id": entry_id, "events": events, "page": page, "has_next": len(events) == 20}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "dashboard/schedulers.html#history", context)
    return render(request, "dashboard/scheduler_history.html", context)


@dashboard_view
def redis(request: HttpRequest) -> HttpResponse:
    return render_page(
        request, "dashboard/redis.html", {"redis": redis_view(inspector().redis_info())}
    )
