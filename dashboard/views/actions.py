"""Changes: task actions (one, selected, all in a state), queue pause/resume/delete, progress.

Every change is POST + CSRF and is carried out by ``dashboard.changes`` (the one action path, shared
with the JSON API), which checks the role and the read-only switch, keeps recycle-bin copies and
writes the audit log; these views only read their input and render the answer.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard import changes
from dashboard.access import QueueAction, TaskAction
from dashboard.changes import Actor
from dashboard.connection import inspector
from dashboard.forms import SelectionForm, valid_or_400
from dashboard.http import action_reply, dashboard_view, flash_fragment
from dashboard.models import AuditEntry, Outcome
from dashboard.presenters import actions as words
from dashboard.scope import reverse
from queuecore import TaskState, WrongStateError


@require_POST
@dashboard_view
def task_action(request: HttpRequest, queue: str, task_id: str, action: str) -> HttpResponse:
    act = TaskAction(action)
    task = changes.task_one(Actor(request), inspector(), act, queue, task_id)
    return action_reply(request, words.done_one(act, task), fallback=_queue_url(queue))


@require_POST
@dashboard_view
def selected_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    act, actor = TaskAction(action), Actor(request)
    changes.authorize(actor, actor.can.operate, f"{act}_selected", queue)
    ids = valid_or_400(SelectionForm(request.POST)).selected
    done = changes.task_selected(actor, inspector(), act, queue, ids)
    if not done.result.succeeded:
        raise WrongStateError(queue, ids[0], "", done.summary)
    return action_reply(request, done.summary, fallback=_queue_url(queue))


@require_http_methods(["GET", "POST"])
@dashboard_view
def all_action(request: HttpRequest, queue: str, state: str, action: str) -> HttpResponse:
    act, st, insp, actor = TaskAction(action), TaskState(state), inspector(), Actor(request)
    group = request.POST.get("group") or request.GET.get("group") or None
    if request.method == "GET":
        changes.authorize_all(actor, act, queue, st)
        total = changes.count_in(insp, queue, st, group)
        return _confirm(request, words.confirm_all(queue, act, st, group, total))
    background = bool(request.htmx)  # type: ignore[attr-defined]
    entry = changes.task_all(actor, insp, act, queue, st, group, background=background)
    return _bulk_reply(request, entry, queue)


@require_http_methods(["GET", "POST"])
@dashboard_view
def queue_action(request: HttpRequest, queue: str, action: str) -> HttpResponse:
    act, insp, actor = QueueAction(action), inspector(), Actor(request)
    if act is QueueAction.DELETE and request.method == "GET":
        changes.authorize_queue(actor, act, queue)
        return _confirm(request, words.confirm_delete_queue(insp.get_queue_info(queue, cheap=True)))
    if act is QueueAction.DELETE:
        background = bool(request.htmx)  # type: ignore[attr-defined]
        entry = changes.delete_queue(actor, insp, queue, force=True, background=background)
        return _bulk_reply(request, entry, "")
    if request.method != "POST":
        changes.authorize_queue(actor, act, queue)
        raise BadRequest(f"{act} needs a POST")
    (changes.pause_queue if act is QueueAction.PAUSE else changes.resume_queue)(actor, insp, queue)
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


def _bulk_reply(request: HttpRequest, entry: AuditEntry, queue: str) -> HttpResponse:
    """Small jobs answer when done; big ones (htmx only) run on and show progress."""
    if entry.outcome == Outcome.RUNNING:
        return render(request, "dashboard/progress.html", {"entry": entry, "started": True})
    back = _queue_url(queue) if queue else reverse("dashboard:overview")
    if queue or not request.htmx:  # type: ignore[attr-defined]
        return action_reply(request, words.done_bulk(entry), fallback=back)
    # The queue is gone: reload on the overview, carrying the message.
    messages.success(request, words.done_bulk(entry))
    return HttpResponse(status=204, headers={"HX-Redirect": back})


def _queue_url(queue: str) -> str:
    return reverse("dashboard:queue", args=[queue])
