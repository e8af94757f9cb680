"""The "Recently deleted" page: copies of deleted tasks (dashboard.recycle), and restoring them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from dashboard import changes, recycle
from dashboard.access import Abilities
from dashboard.audit import audited
from dashboard.changes import Actor
from dashboard.connection import client
from dashboard.forms import MAX_PAGE, MAX_SELECTED, parse_int, row_number
from dashboard.http import action_reply, dashboard_view, render_page
from dashboard.models import DeletedTask, Outcome
from dashboard.scope import reverse
from queuecore.contrib.django import instances

PAGE_SIZE = 50
# Most recent deletions offered for restore-all.
DELETIONS_SHOWN = 50
PREVIEW_CHARS = 120
# Skipped copies the audit entry and the message name one by one.
SKIPPED_NAMED = 5


@require_http_methods(["GET", "POST"])
@dashboard_view
def recently_deleted(request: HttpRequest) -> HttpResponse:
    """GET lists the copies; POST restores some (see ``_chosen``)."""
    if request.method == "POST":
        return _restore(request)
    recycle.purge_expired()
    copies = here()
    number = parse_int(request.GET.get("page"), default=1, low=1, high=MAX_PAGE, name="page")
    page = Paginator(copies, PAGE_SIZE).get_page(number)
    deletions = (
        here()
        .filter(audit__isnull=False)
        .values("audit", "audit__action", "audit__queue", "audit__at", "username")
        .annotate(count=Count("id"))
        .order_by("-audit__at")[:DELETIONS_SHOWN]
    )
    return render_page(
        request,
        "dashboard/recycle.html",
        {
            "page": page,
            "rows": [_row(copy) for copy in page],
            "deletions": list(deletions),
            "hours": recycle.hours(),
            "can_restore": Abilities.of(request.user).operate,
        },
    )


def here() -> QuerySet[DeletedTask]:
    """The copies deleted from the instance being shown (a restore writes to it)."""
    return DeletedTask.objects.filter(instance=instances.current_name())


def _row(copy: DeletedTask) -> dict[str, Any]:
    payload = copy.record.get("payload") if isinstance(copy.record, dict) else None
    text = payload.get("text") if isinstance(payload, dict) else None
    if isinstance(text, str):
        preview = text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"
        binary = False
    else:
        encoded = payload.get("b64", "") if isinstance(payload, dict) else ""
        preview = f"{len(str(encoded)) * 3 // 4} bytes"
        binary = True
    return {"copy": copy, "preview": preview, "binary": binary}


def _restore(request: HttpRequest) -> HttpResponse:
    actor = Actor(request)
    changes.authorize(actor, actor.can.operate, "restore")
    copies = list(_chosen(request))
    if not copies:
        raise BadRequest("Choose at least one deleted task to restore.")
    queues = {c.queue for c in copies}
    entry = changes.begin(
        actor,
        "restore",
        allowed=actor.can.operate,
        queue=queues.pop() if len(queues) == 1 else "",
        task_ids=[c.task_id for c in copies],
        total=len(copies),
    )
    with audited(entry) as change:
        done = recycle.restore(copies, client())
        change.count = len(done.restored)
        change.task_ids = [c.task_id for c in done.restored]
        change.detail = _summary(done)
        change.outcome = Outcome.PARTIAL if done.skipped else Outcome.SUCCEEDED
    level = "error" if done.skipped and not done.restored else "success"
    return action_reply(
        request, change.detail, level=level, fallback=reverse("dashboard:recycle-bin")
    )


def _chosen(request: HttpRequest) -> list[DeletedTask]:
    """The copies a restore names: ``only`` (one row's button), ``audit`` (one whole deletion)
    or the ticked ``ids``."""
    copies = here().order_by("id")
    if request.POST.get("audit"):
        return list(copies.filter(audit=row_number(request.POST["audit"])))
    raw = [request.POST["only"]] if request.POST.get("only") else request.POST.getlist("ids")
    if len(raw) > MAX_SELECTED:
        raise BadRequest(f"Restore at most {MAX_SELECTED} tasks at a time.")
    return list(copies.filter(pk__in=[row_number(value) for value in raw if value]))


def _summary(done: recycle.Restored) -> str:
    text = f"Restored {len(done.restored)} task{'s' if len(done.restored) != 1 else ''}."
    if done.skipped:
        named = "; ".join(
            f"{c.queue}/{c.task_id}: {why}" for c, why in done.skipped[:SKIPPED_NAMED]
        )
        more = len(done.skipped) - SKIPPED_NAMED
        text += f" Skipped {len(done.skipped)} (kept in the bin): {named}"
        text += f" and {more} more." if more > 0 else "."
    return text
