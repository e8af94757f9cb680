"""Changes: task actions (one, selected, all in a state), queue pause/resume/delete, progress.

Every change is POST + CSRF, checked server-side against the user's role and the read-only
switch, and written to the audit log whatever its outcome.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import dispatch, operations, recycle
from dashboard.access import ACTIONS_BY_STATE, Abilities, QueueAction, TaskAction, read_only
from dashboard.audit import audited, new_entry, refused
from dashboard.connection import inspector
from dashboard.forms import SelectionForm, valid_or_400
from dashboard.http import action_reply, dashboard_view, flash_fragment
from dashboard.models import AuditEntry, Outcome
from dashboard.presenters import actions as words
from queuecore import TaskState, WrongStateError


def require(request: HttpRequest, allowed: bool, action: str, queue: str) -> None:
    """Refuse (403) when read-only or the role forbids it; refused POSTs are audited too."""
    reason = ""
    if read_only():
        reason = "The dashboard is read-only; changes are switched off."
    elif not allowed:
        reason = f"Your role does not allow {action.replace('_', ' ')} here."
    if reason:
        if request.method == "POST":
            refused(request, action, queue, reason)
        raise PermissionDenied(reason)


@require_POST
@dashboard_view
def task_action(request: HttpRequest, queue: str, task_id: str, action: str) -> HttpResponse:
    act, insp = TaskAction(action), inspector()
    require(request, Abilities.of(request.user).operate, act, queue)
    entry = new_entry(request, act, queue=queue, task_ids=[task_id])
    recycle_bin = recycle.RecycleBin(entry) if act is TaskAction.DELETE else None
    with audited(entry) as change:
        task = insp.get_task_info(queue, task_id)
        change.state = task.state
        if act not in ACTIONS_BY_STATE[task.state]:
            raise WrongStateError(queue, task_id, task.state, words.not_now(act, task))
        dispatch.perform_one(insp, act, task, recycle_bin)
        change.count = 1
        change.detail = recycle_bin.note(1) if recycle_bin else ""
    return action_reply(request, words.done_one(act, task), fallback=_queue_url(queue))


@require_POST
@dashboard_view
def selected_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    act = TaskAction(action)
    require(request, Abilities.of(request.user).operate, f"{act}_selected", queue)
    ids = valid_or_400(SelectionForm(request.POST)).selected
    entry = new_entry(request, f"{act}_selected", queue=queue, task_ids=ids)
    recycle_bin = recycle.RecycleBin(entry) if act is TaskAction.DELETE else None
    with audited(entry) as change:
        outcome = dispatch.perform_selected(inspector(), act, queue, ids, recycle_bin)
        change.count, change.total = len(outcome.succeeded), len(ids)
        change.outcome = Outcome.PARTIAL if outcome.failed else Outcome.SUCCEEDED
        change.detail = words.summary(act, outcome)
        if recycle_bin:
            change.detail = f"{change.detail} {recycle_bin.note(change.count)}".strip()
    if not outcome.succeeded:
        raise WrongStateError(queue, ids[0], "", change.detail)
    return action_reply(request, change.detail, fallback=_queue_url(queue))


@require_http_methods(["GET", "POST"])
@dashboard_view
def all_action(request: HttpRequest, queue: str, state: str, action: str) -> HttpResponse:
    act, st, insp = TaskAction(action), TaskState(state), inspector()
    group = request.POST.get("group") or request.GET.get("group") or None
    if act not in ACTIONS_BY_STATE[st]:
        raise BadRequest(f"{act} does not apply to {st} tasks")
    require(request, Abilities.of(request.user).bulk_action(act, st), f"{act}_all", queue)
    total = dispatch.count_in(insp, queue, st, group)
    if request.method == "GET":
        return _confirm(request, words.confirm_all(queue, act, st, group, total))
    entry = new_entry(request, f"{act}_all", queue=queue, state=st, group=group or "", total=total)
    recycle_bin = recycle.RecycleBin(entry) if act is TaskAction.DELETE else None
    work = dispatch.all_work(insp, act, queue, st, group, recycle_bin)
    return _run_bulk(request, entry, work, queue, recycle_bin.note if recycle_bin else None)


@require_http_methods(["GET", "POST"])
@dashboard_view
def queue_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    act, insp = QueueAction(action), inspector()
    require(request, Abilities.of(request.user).queue_action(act), f"{act}_queue", queue)
    if act is QueueAction.DELETE:
        info = insp.get_queue_info(queue, cheap=True)
        if request.method == "GET":
            return _confirm(request, words.confirm_delete_queue(info))
        entry = new_entry(request, "delete_queue", queue=queue, total=info.size)
        return _run_bulk(request, entry, dispatch.delete_queue_work(insp, queue, info.size), "")
    if request.method != "POST":
        raise BadRequest(f"{act} needs a POST")
    with audited(new_entry(request, f"{act}_queue", queue=queue)):
        insp.pause_queue(queue) if act is QueueAction.PAUSE else insp.unpause_queue(queue)
    verb = "Paused" if act is QueueAction.PAUSE else "Resumed"
    return action_reply(request, f"{verb} queue {queue}.", fallback=reverse("dashboard:overview"))


@dashboard_view
def operation(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(AuditEntry, pk=pk)
    if entry.outcome == Outcome.RUNNING:
        return render(request, "dashboard/progress.html", {"entry": entry})
    level = "success" if entry.outcome == Outcome.SUCCEEDED else "error"
    response = flash_fragment(request, words.done_bulk(entry), level)
    response.status_code = 286  # tells htmx to stop polling
    return response


def _confirm(request: HttpRequest, confirm: words.Confirmation) -> HttpResponse:
    partial = "#dialog" if request.htmx else ""  # type: ignore[attr-defined]
    return render(request, f"dashboard/confirm.html{partial}", {"confirm": confirm})


def _run_bulk(
    request: HttpRequest,
    entry: AuditEntry,
    work: operations.Work,
    queue: str,
    note: operations.Note | None = None,
) -> HttpResponse:
    """Small jobs answer when done; big ones (htmx only) run on and show progress."""
    back = _queue_url(queue) if queue else reverse("dashboard:overview")
    if entry.total > operations.SYNC_LIMIT and request.htmx:  # type: ignore[attr-defined]
        operations.start_background(entry, work, note)
        return render(request, "dashboard/progress.html", {"entry": entry, "started": True})
    operations.run_now(entry, work, note)
    if queue or not request.htmx:  # type: ignore[attr-defined]
        return action_reply(request, words.done_bulk(entry), fallback=back)
    # The queue is gone: reload on the overview, carrying the message.
    messages.success(request, words.done_bulk(entry))
    return HttpResponse(status=204, headers={"HX-Redirect": back})


def _queue_url(queue: str) -> str:
    return reverse("dashboard:queue", args=[queue])
