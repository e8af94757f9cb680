"""Creating tasks: enqueue from a form, clone an existing task, run a scheduler entry now.

Operators only (hidden and refused when read-only), POST + CSRF, every attempt audited. A task
the Client refuses (invalid option, duplicate, id conflict) comes back as an error in the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import changes
from dashboard.audit import audited
from dashboard.changes import Actor
from dashboard.connection import client, inspector
from dashboard.cron_options import enqueue_keywords
from dashboard.forms import CLONE_UNIQUE_TTL, EnqueueForm, initial_from_task
from dashboard.http import action_reply, dashboard_view, status_of
from dashboard.presenters.actions import Confirmation
from dashboard.scope import redirect, reverse
from queuecore import Task
from queuecore.client import DEFAULT_QUEUE
from queuecore.errors import (
    DuplicateTaskError,
    InvalidArgumentError,
    QueueCoreError,
    RedisUnavailableError,
    TaskIdConflictError,
)
from queuecore.inspection import SchedulerEntry

# Refusals shown in the form, next to the field that caused them (None: the whole form), so that
# nothing typed is lost; Redis being down keeps the form too. Statuses: dashboard.http's table.
FORM_ERRORS: tuple[tuple[type[QueueCoreError], str | None], ...] = (
    (DuplicateTaskError, "unique"),
    (TaskIdConflictError, "task_id"),
    (InvalidArgumentError, None),
    (RedisUnavailableError, None),
)


@require_http_methods(["GET", "POST"])
@dashboard_view
def enqueue(request: HttpRequest) -> HttpResponse:
    queue = request.POST.get("queue") or request.GET.get("queue") or ""
    actor = Actor(request)
    changes.authorize(actor, actor.can.operate, "enqueue", queue)
    if request.method == "GET":
        return _form_page(request, EnqueueForm(initial={"queue": queue or DEFAULT_QUEUE}))
    form = EnqueueForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    source = form.cleaned_data["source"]
    action = "clone_task" if source else "enqueue"
    try:
        with changes.change(actor, action, allowed=actor.can.operate, queue=queue[:255]) as change:
            change.detail = f"cloned from {source}" if source else ""
            info = client().enqueue(form.task(), **form.options())
            change.count, change.task_ids = 1, [info.id]
    except tuple(error for error, _ in FORM_ERRORS) as exc:
        form.add_error(next(f for e, f in FORM_ERRORS if isinstance(exc, e)), str(exc))
        return _form_page(request, form, status=status_of(exc)[0])
    messages.success(request, f"Enqueued task {info.id} as {info.state} in queue {info.queue}.")
    return redirect("dashboard:task", info.queue, info.id)


@require_GET
@dashboard_view
def clone(request: HttpRequest, queue: str, task_id: str) -> HttpResponse:
    """The enqueue form filled from a task; submitting it enqueues a new task (new id)."""
    actor = Actor(request)
    changes.authorize(actor, actor.can.operate, "clone_task", queue)
    task = inspector().get_task_info(queue, task_id)
    form = EnqueueForm(initial=initial_from_task(task))
    if task.unique_key:
        form.fields["unique"].help_text = (
            f"The original was enqueued with a unique lock ({task.unique_key}). asynq does not "
            f"keep the lock's TTL, so {CLONE_UNIQUE_TTL // 3600} hour is proposed. While the "
            "original holds the lock the copy is refused as a duplicate; clear this field to "
            "enqueue it without a lock."
        )
    return _form_page(request, form, cloned=task)


@require_http_methods(["GET", "POST"])
@dashboard_view
def run_entry(request: HttpRequest, entry_id: str) -> HttpResponse:
    """Enqueue a scheduler entry's task now. The scheduler's own history is not written."""
    actor = Actor(request)
    changes.authorize(actor, actor.can.operate, "run_scheduler_entry")
    entry = _scheduler_entry(entry_id)
    if request.method == "GET":
        queue = enqueue_keywords(entry.options).get("queue", DEFAULT_QUEUE)  # refuse early
        return _confirm_run(request, entry, queue)
    audit = changes.begin(actor, "run_scheduler_entry", allowed=actor.can.operate)
    with audited(audit) as change:
        change.detail = f"entry {entry.id} ({entry.spec}, {entry.task_type})"
        options = enqueue_keywords(entry.options)
        audit.queue = options.get("queue", DEFAULT_QUEUE)[:255]
        info = client().enqueue(Task(entry.task_type, entry.task_payload or None), **options)
        change.count, change.task_ids = 1, [info.id]
    message = f"Enqueued task {info.id} ({entry.task_type}) as {info.state} in queue {info.queue}."
    return action_reply(
        request, message, fallback=reverse("dashboard:task", args=[info.queue, info.id])
    )


def _form_page(
    request: HttpRequest, form: EnqueueForm, *, cloned: object = None, status: int = 200
) -> HttpResponse:
    try:
        queues = inspector().queues()  # suggestions only: the form works without them
    except RedisUnavailableError:
        queues = []
    context = {"form": form, "cloned": cloned, "queues": queues}
    return render(request, "dashboard/enqueue.html", context, status=status)


def _scheduler_entry(entry_id: str) -> SchedulerEntry:
    found = next((e for e in inspector().scheduler_entries() if e.id == entry_id), None)
    if found is None:
        raise Http404(f"No live scheduler has an entry {entry_id}.")
    return found


def _confirm_run(request: HttpRequest, entry: SchedulerEntry, queue: str) -> HttpResponse:
    back = reverse("dashboard:schedulers")
    confirm = Confirmation(
        title=f"Run {entry.task_type} now?",
        message=(
            f"This enqueues one {entry.task_type} task into queue {queue} now, with the entry's "
            f"options ({', '.join(entry.options) or 'none'}). The entry's schedule and its "
            "enqueue history are unchanged; the run is recorded in the audit log."
        ),
        count=1,
        post_url=reverse("dashboard:scheduler-run", args=[entry.id]),
        cancel_url=back,
        button="Run now",
        danger=False,
    )
    partial = "#dialog" if request.htmx else ""  # type: ignore[attr-defined]
    return render(request, f"dashboard/confirm.html{partial}", {"confirm": confirm})
