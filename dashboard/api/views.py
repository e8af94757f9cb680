"""Asynqmon's REST API (its Go handler's 65 endpoints) over the Inspector, with roles and audit.

Same paths (under ``api/``), methods, request bodies and JSON shapes as Asynqmon, so scripts written
for Asynqmon run unchanged. Where Asynqmon answers 500 for everything, errors here get a fitting
status with a plain-text body (404 unknown queue or task, 409 wrong state, 400 bad input, 503 Redis
down); queue deletion keeps Asynqmon's 404 / 400. Read-only mode answers 405 to every change, with
Asynqmon's text. Every change goes through ``dashboard.changes``, the pages' one action path: the
same role as in the dashboard, the same recycle bin for deletes, the same audit log (actions
prefixed ``api:``); errors map to statuses in ``dashboard.http.STATUS_BY_ERROR``.
Page size is at most :data:`MAX_PAGE_SIZE` and page at most ``forms.MAX_PAGE`` (Asynqmon has
no bounds); other values are a 400.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from dashboard import changes, prometheus
from dashboard.access import Abilities, ReadOnlyError, TaskAction
from dashboard.api import serializers as out
from dashboard.api.auth import Caller, csrf_failure, identify
from dashboard.changes import API, Actor
from dashboard.connection import inspector
from dashboard.converters import check_lengths
from dashboard.forms import MAX_PAGE, parse_int
from dashboard.http import MAPPED_ERRORS, status_of
from dashboard.scope import reverse
from queuecore import RedisSettings, TaskState
from queuecore.contrib.django import instances
from queuecore.inspector import Inspector
from queuecore.names import shown

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
# Asynqmon's limit on batch request bodies.
MAX_BODY_BYTES = 1_000_000
HISTORY_DAYS = 10
QUEUE_STATS_DAYS = 90


def text(status: int, message: str) -> HttpResponse:
    """Asynqmon's error shape: ``http.Error``'s plain text with a trailing newline."""
    body = shown(message) + "\n"  # a name that is not UTF-8 as \xNN
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def error_text(request: HttpRequest, exc: Exception) -> HttpResponse:
    """An error as ``dashboard.http.STATUS_BY_ERROR``'s API column says, in Asynqmon's words."""
    status, _ = status_of(exc, api=True)
    if isinstance(exc, ReadOnlyError):
        message = (
            f"API Server is running in read-only mode: {request.method} request is not allowed"
        )
    else:
        message = str(exc).removeprefix("asynq: ")
    return text(status, message)


def endpoint(methods: tuple[str, ...]) -> Callable[..., Any]:
    """Auth (session or token), method, view role, CSRF for sessions, errors → statuses.

    The role and read-only rules of each change are applied by ``dashboard.changes``.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            with instances.using(instances.of_request(request)):
                response = _guard(request, methods)
                if response is None:
                    try:
                        check_lengths(kwargs)
                        response = view(request, *args, **kwargs)
                    except MAPPED_ERRORS as exc:
                        response = error_text(request, exc)
            add_never_cache_headers(response)
            return response

        return wrapped

    return decorate


def _guard(request: HttpRequest, methods: tuple[str, ...]) -> HttpResponse | None:
    caller = identify(request)
    if caller is None or not caller.authenticated:
        response = text(401, "authentication required: log in or send an API token")
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    request.user = caller.user  # type: ignore[assignment]
    if request.method not in methods:
        response = text(405, f"method {request.method} not allowed")
        response["Allow"] = ", ".join(methods)
        return response
    if not Abilities.of(caller.user).view:
        return text(403, "your account has no dashboard role on this instance")
    if request.method == "GET":
        return None
    return _csrf(request, caller)


def _csrf(request: HttpRequest, caller: Caller) -> HttpResponse | None:
    if caller.by_token:
        return None
    if csrf_failure(request) is not None:
        return text(403, "CSRF check failed: send the csrftoken cookie and X-CSRFToken header")
    return None


def _now(insp: Inspector) -> datetime:
    return datetime.fromtimestamp(insp.clock.now(), UTC)


def page_options(request: HttpRequest) -> tuple[int, int]:
    """Asynqmon's getPageOptions, ``size`` (20) and ``page`` (1), bounded: anything that is not a
    whole number in range is a 400 (Asynqmon falls back to the default, or hands it to Redis)."""
    size = parse_int(
        request.GET.get("size"), default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE, name="size"
    )
    page = parse_int(request.GET.get("page"), default=1, low=1, high=MAX_PAGE, name="page")
    return size, page


def task_ids_from(request: HttpRequest) -> list[str]:
    """A batch body ``{"task_ids": [...]}``; unknown fields are refused, as Go's decoder does."""
    if len(request.body) > MAX_BODY_BYTES:
        raise BadRequest("http: request body too large")
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest('body must be a JSON object {"task_ids": [...]}')
    unknown = set(body) - {"task_ids"}
    if unknown:
        raise BadRequest(f'json: unknown field "{sorted(unknown)[0]}"')
    ids = body.get("task_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("task_ids must be a list of strings")
    return ids


# -- queues ------------------------------------------------------------------------------------


@endpoint(("GET",))
def list_queues(request: HttpRequest) -> HttpResponse:
    infos = inspector().overview(cheap=False)
    return JsonResponse({"queues": [out.queue_snapshot(i) for i in infos]})


@endpoint(("GET", "DELETE"))
def queue(request: HttpRequest, qname: str) -> HttpResponse:
    insp = inspector()
    if request.method == "DELETE":
        # Asynqmon refuses a queue that still has tasks (400): no force here.
        changes.delete_queue(Actor(request, API), insp, qname, force=False)
        return no_content()
    info = insp.get_queue_info(qname)
    history = insp.history(qname, HISTORY_DAYS)
    return JsonResponse(
        {"current": out.queue_snapshot(info), "history": [out.daily_stats(d) for d in history]}
    )


@endpoint(("POST",))
def pause_queue(request: HttpRequest, qname: str) -> HttpResponse:
    changes.pause_queue(Actor(request, API), inspector(), qname)
    return no_content()


@endpoint(("POST",))
def resume_queue(request: HttpRequest, qname: str) -> HttpResponse:
    changes.resume_queue(Actor(request, API), inspector(), qname)
    return no_content()


@endpoint(("GET",))
def queue_stats(request: HttpRequest) -> HttpResponse:
    insp = inspector()
    stats = {
        q: [out.daily_stats(d) for d in insp.history(q, QUEUE_STATS_DAYS)] for q in insp.queues()
    }
    return JsonResponse({"stats": stats})


@endpoint(("GET",))
def list_groups(request: HttpRequest, qname: str) -> HttpResponse:
    insp = inspector()
    groups = insp.groups(qname)
    info = insp.get_queue_info(qname)
    return JsonResponse(
        {"stats": out.queue_snapshot(info), "groups": [out.group_info(g) for g in groups]}
    )


# -- task lists --------------------------------------------------------------------------------


@endpoint(("GET",))
def list_tasks(
    request: HttpRequest, qname: str, state: str, gname: str | None = None
) -> HttpResponse:
    insp = inspector()
    st = TaskState(state)
    size, page = page_options(request)
    tasks = insp.list_tasks(qname, st, page=page, page_size=size, group=gname)
    info = insp.get_queue_info(qname)
    now = _now(insp)
    if st is TaskState.ACTIVE:
        workers = out.workers_by_task(insp.servers(), qname)
        rows = [out.active_task(t, workers.get(t.id)) for t in tasks]
    else:
        rows = [out.list_task(t, now) for t in tasks]
    body: dict[str, Any] = {"tasks": rows, "stats": out.queue_snapshot(info)}
    if tasks.skipped:  # ours: unreadable records left out of the page (Asynqmon's shape else)
        body["skipped"] = tasks.skipped
    if st is TaskState.AGGREGATING:
        body["groups"] = [out.group_info(g) for g in insp.groups(qname)]
    return JsonResponse(body)


@endpoint(("GET",))
def get_task(request: HttpRequest, qname: str, task_id: str) -> HttpResponse:
    insp = inspector()
    task = insp.get_task_info(qname, task_id)
    return JsonResponse(out.task_detail(task, _now(insp)))


# -- one task ----------------------------------------------------------------------------------


def _one(request: HttpRequest, action: TaskAction, qname: str, task_id: str) -> HttpResponse:
    changes.task_one(Actor(request, API), inspector(), action, qname, task_id)
    return no_content()


@endpoint(("DELETE",))
def delete_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.DELETE, qname, task_id)


@endpoint(("POST",))
def run_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.RUN, qname, task_id)


@endpoint(("POST",))
def archive_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.ARCHIVE, qname, task_id)


@endpoint(("POST",))
def cancel_task(request: HttpRequest, qname: str, task_id: str) -> HttpResponse:
    return _one(request, TaskAction.CANCEL, qname, task_id)


# -- all tasks in a state ----------------------------------------------------------------------


def _all(
    request: HttpRequest, action: TaskAction, qname: str, state: str, gname: str | None
) -> int:
    actor, st = Actor(request, API), TaskState(state)
    return changes.task_all(actor, inspector(), action, qname, st, gname).count


@endpoint(("DELETE",))
def delete_all(
    request: HttpRequest, qname: str, state: str, gname: str | None = None
) -> HttpResponse:
    return JsonResponse({"deleted": _all(request, TaskAction.DELETE, qname, state, gname)})


@endpoint(("POST",))
def run_all(request: HttpRequest, qname: str, state: str, gname: str | None = None) -> HttpResponse:
    return JsonResponse({"scheduled": _all(request, TaskAction.RUN, qname, state, gname)})


@endpoint(("POST",))
def archive_all(
    request: HttpRequest, qname: str, state: str, gname: str | None = None
) -> HttpResponse:
    return JsonResponse({"archived": _all(request, TaskAction.ARCHIVE, qname, state, gname)})


@endpoint(("POST",))
def cancel_all(request: HttpRequest, qname: str) -> HttpResponse:
    _all(request, TaskAction.CANCEL, qname, TaskState.ACTIVE, None)
    return no_content()


# -- batches -----------------------------------------------------------------------------------

# Response keys of Asynqmon's batch endpoints: (succeeded, failed).
BATCH_KEYS = {
    TaskAction.DELETE: ("deleted_ids", "failed_ids"),
    TaskAction.RUN: ("pending_ids", "error_ids"),
    TaskAction.ARCHIVE: ("archived_ids", "error_ids"),
    TaskAction.CANCEL: ("canceled_ids", "error_ids"),
}


def _batch(request: HttpRequest, action: TaskAction, qname: str) -> HttpResponse:
    ids = task_ids_from(request)
    done = changes.task_selected(Actor(request, API), inspector(), action, qname, ids)
    ok_key, failed_key = BATCH_KEYS[action]
    return JsonResponse({ok_key: done.result.succeeded, failed_key: done.result.failed})


@endpoint(("POST",))
def batch_delete(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.DELETE, qname)


@endpoint(("POST",))
def batch_run(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.RUN, qname)


@endpoint(("POST",))
def batch_archive(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.ARCHIVE, qname)


@endpoint(("POST",))
def batch_cancel(request: HttpRequest, qname: str) -> HttpResponse:
    return _batch(request, TaskAction.CANCEL, qname)


# -- servers, schedulers, Redis, metrics -------------------------------------------------------


@endpoint(("GET",))
def list_servers(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"servers": [out.server_info(s) for s in inspector().servers()]})


@endpoint(("GET",))
def list_scheduler_entries(request: HttpRequest) -> HttpResponse:
    entries = inspector().scheduler_entries()
    return JsonResponse({"entries": [out.scheduler_entry(e) for e in entries]})


@endpoint(("GET",))
def list_enqueue_events(request: HttpRequest, entry_id: str) -> HttpResponse:
    size, page = page_options(request)
    events = inspector().scheduler_enqueue_events(entry_id, page=page, page_size=size)
    return JsonResponse({"events": [out.enqueue_event(e) for e in events]})


@endpoint(("GET",))
def redis_info(request: HttpRequest) -> HttpResponse:
    return JsonResponse(out.redis_info(inspector().redis_info(), redis_address()))


def redis_address() -> str:
    """``host:port`` as Asynqmon shows it (never the password)."""
    conf = RedisSettings.from_url(instances.current().url)
    if conf.unix_socket_path:
        return conf.unix_socket_path
    if conf.kind == "sentinel":
        return ",".join(f"{h}:{p}" for h, p in conf.sentinels)
    if conf.kind == "cluster":
        return ",".join(f"{h}:{p}" for h, p in conf.cluster_nodes)
    return f"{conf.host}:{conf.port}"


@endpoint(("GET",))
def metrics(request: HttpRequest) -> HttpResponse:
    """Asynqmon's Prometheus proxy: nine ``query_range`` answers under its nine keys.

    Without ``QUEUECORE["PROMETHEUS_URL"]`` Asynqmon still answers, with a 500 from its HTTP
    client ("unsupported protocol scheme"); here that is a 501 saying what to configure. A
    Prometheus that is down, slow or refuses a query is a 502 naming the query and the reason.
    """
    base = prometheus.configured_url()
    if not base:
        return text(
            501,
            'no Prometheus server is configured: set QUEUECORE["PROMETHEUS_URL"] to the '
            f"Prometheus that scrapes {reverse('queuecore:metrics')}",
        )
    try:
        window = prometheus.parse_window(
            duration=request.GET.get("duration"),
            endtime=request.GET.get("endtime"),
            queues=request.GET.getlist("queues"),
            now=int(time.time()),
        )
    except ValueError as exc:
        return text(400, f"invalid query parameter: {exc}")
    try:
        answers = prometheus.PrometheusClient(base).fetch_all(window)
    except prometheus.PrometheusError as exc:
        return text(502, str(exc))
    return JsonResponse(answers)
