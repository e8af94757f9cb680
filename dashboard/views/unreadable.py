"""Unreadable records (README, "Poison data"): export the bytes of one, or delete it, by id.

Kept apart from the task actions on purpose: an unreadable record has no TaskInfo, so none of
the state rules of ``changes.task_one`` apply; the delete goes through ``changes`` (role,
read-only switch, audit) like any other change.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from dashboard import changes
from dashboard.changes import Actor
from dashboard.connection import inspector
from dashboard.http import action_reply, dashboard_view
from dashboard.scope import reverse


@dashboard_view
def export(request: HttpRequest, queue: str, task_id: str) -> HttpResponse:
    record = inspector().unreadable_record(queue, task_id)
    if record.data is None:
        return HttpResponse(
            f"The record is a {record.kind}: it holds no bytes to export.\n",
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(record.data, content_type="application/octet-stream")
    response["Content-Disposition"] = 'attachment; filename="unreadable-record.bin"'
    return response


@require_POST
@dashboard_view
def delete(request: HttpRequest, queue: str, task_id: str) -> HttpResponse:
    changes.delete_unreadable(Actor(request), inspector(), queue, task_id)
    message = f"Deleted the unreadable record {task_id}."
    return action_reply(request, message, fallback=reverse("dashboard:queue", args=[queue]))
