"""Asynqmon's REST API (its Go handler's 65 endpoints) over the Inspector, with roles and audit.

Same paths (under ``api/``), methods, request bodies and JSON shapes as Asynqmon, so scripts written
for Asynqmon run unchanged. Where Asynqmon answers 500 for everything, errors here get a fitting
status with a plain-text body (404 unknown queue or task, 409 wrong state, 400 bad input, 503 Redis
down); queue deletion keeps Asynqmon's 404 / 400. Read-only mode answers 405 to every change, with
Asynqmon's text. Every change needs the same role as in the dashboard and is written to its audit
log. Page size is capped at :data:`MAX_PAGE_SIZE` (Asynqmon has no cap).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt

from dashboard import prometheus
from dashboard.access import VIEW, Abilities, QueueAction, TaskAction, read_only
from dashboard.api import serializers as out
from dashboard.api.auth import Caller, csrf_failure, identify
from dashboard.audit import audited, new_entry
from dashboard.connection import inspector
from dashboard.http import STATUS_BY_ERROR as PAGE_STATUS_BY_ERROR
from dashboard.models import Outcome
from queuecore import RedisSettings, TaskState
from queuecore.contrib.django.conf import redis_url
from queuecore.errors import (
    QueueCoreError,
    QueueNotEmptyError,
    QueueNotFoundError,
)
from queuecore.inspector import Inspector

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
# Asynqmon's limit on batch request bodies.
MAX_BODY_BYTES = 1_000_000
HISTORY_DAYS = 10
QUEUE_STATS_DAYS = 90

Need = Callable[[Abilities], bool]

# The dashboard's statuses for queuecore's errors, less its 409 catch-all: any other error is
# Asynqmon's 500.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = tuple(
    (error_type, status)
    for error_type, status, _ in PAGE_STATUS_BY_ERROR
    if issubclass(error_type, QueueCoreError) and error_type is not QueueCoreError
)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def text(status: int, message: str) -> HttpResponse:
    """Asynqmon's error shape: ``http.Error``'s plain text with a trailing newline."""
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


def error_status(exc: QueueCoreError) -> int:
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def endpoint(methods: tuple[str, ...], need: Need | None = None) -> Callable[..., Any]:
    """Auth (session or token), method, role, read-only, CSRF for sessions, errors → statuses."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_not_required
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = _guard(request, methods, need)
            if response is None:
                try:
                    response = view(request, *args, **kwargs)
                except ApiError as exc:
                    response = text(exc.status, str(exc))
                except QueueCoreError as exc:
                    response = text(error_status(exc), str(exc).removeprefix("asynq: "))
            add_never_cache_headers(response)
            return response

        return wrapped

    return decorate


def _guard(
    request: HttpRequest, methods: tuple[str, ...], need: Need | None
) -> HttpResponse | None:
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
    if not caller.user.has_perm(VIEW):
        return text(403, "your account has no dashboard role")
    if request.method == "GET":
        return None
    if read_only():
        return text(
            405,
            f"API Server is running in read-only mode: {request.method} request is not allowed",
        )
    if need is not None and not need(Abilities.of(caller.user)):  # type: ignore[arg-type]
        return text(403, "your role does not allow this change")
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
    """Asynqmon's getPageOptions: ``size`` (20) and ``page`` (1); unparsable values → defaults."""
    size, page = DEFAULT_PAGE_SIZE, 1
    try:
        size = int(request.GET.get("size", size))
    except ValueError:
        size = DEFAULT_PAGE_SIZE
    try:
        page = int(request.GET.get("page", page))
    except ValueError:
        page = 1
    if size < 1:
        size = DEFAULT_PAGE_SIZE
    return min(size, MAX_PAGE_SIZE), max(page, 1)


def task_ids_from(request: HttpRequest) -> list[str]:
    """A batch body ``{"task_ids": [...]}``; unknown fields are refused, as Go's decoder does."""
    if len(request.body) > MAX_BODY_BYTES:
        raise ApiError(400, "http: request body too large")
    try:
        body = json.loads(request.body or b"null")
    except ValueError as exc:
        raise ApiError(400, f"invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, 'body must be a JSON object {"task_ids": [...]}')
    unknown = set(body) - {"task_ids"}
    if unknown:
        raise ApiError(400, f'json: unknown field "{sorted(unknown)[0]}"')
    ids = body.get("task_ids") or []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "task_ids must be a list of strings")
    return ids


def can_operate(can: Abilities) -> bool:
    return can.operate


def can_administer(can: Abilities) -> bool:
    return can.administer


def can_all(action: TaskAction, state: TaskState) -> Need:
    return lambda can: can.bulk_action(action, state)


# -- queues ------------------------------------------------------------------------------------


@endpoint(("GET",))
def list_queues(request: HttpRequest) -> HttpResponse:
    infos = inspector().overview(cheap=False)
    return JsonResponse({"queues": [out.queue_snapshot(i) for i in infos]})


@endpoint(("GET", "DELETE"), need=can_administer)
def queue(request: HttpRequest, qname: str) -> HttpResponse:
    insp = inspector()
    if request.method == "DELETE":
        return _delete_queue(request, insp, qname)
    info = insp.get_queue_info(qname)
    history = insp.history(qname, HISTORY_DAYS)
    return JsonResponse(
        {"current": out.queue_snapshot(info), "history": [out.daily_stats(d) for d in history]}
    )


def _delete_queue(request: HttpRequest, insp: Inspector, qname: str) -> HttpResponse:
    with audited(new_entry(request, f"api:{QueueAction.DELETE}_queue", queue=qname)) as change:
        try:
            insp.delete_queue(qname, force=False)
        except QueueNotFoundError as exc:
            raise ApiError(404, str(exc).removeprefix("asynq: ")) from exc
        except QueueNotEmptyError as exc:
            # Asynqmon's status for "empty it first".
            raise ApiError(400, str(exc)) from exc
        change.count = 1
    return no_content()


@endpoint(("POST",), need=can_operate)
def pause_queue(request: HttpRequest, qname: str) -> HttpResponse:
    with audited(new_entry(request, f"api:{QueueAction.PAUSE}_queue", queue=qname)) as change:
        inspector().pause_queue(qname)
        change.count = 1
    return no_content()


@endpoint(("POST",), need=can_operate)
def resume_queue(request: HttpRequest, qname: str) -> HttpResponse:
    with audited(new_entry(request, f"api:{QueueAction.RESUME}_queue", queue=qname)) as change:
        inspector().unpause_queue(qname)
        change.count = 1
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
    insp = inspector()
    entry = new_entry(request, f"api:{action}", queue=qname, task_ids=[task_id])
    with audited(entry) as change:
        if action is TaskAction.RUN:
            insp.run_task(qname, task_id)
        elif action is TaskAction.ARCHIVE:
            insp.archive_task(qname, task_id)
        elif action is TaskAction.DELETE:
            insp.delete_task(qname, task_id)
        else:
            insp.cancel_processing(task_id)
        change.count = 1
    return no_content()


@endpoint(("DELETE",), need=can_operate)
def delete_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.DELETE, qname, task_id)


@endpoint(("POST",), need=can_operate)
def run_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.RUN, qname, task_id)


@endpoint(("POST",), need=can_operate)
def archive_task(request: HttpRequest, qname: str, task_id: str, **_: str) -> HttpResponse:
    return _one(request, TaskAction.ARCHIVE, qname, task_id)


@endpoint(("POST",), need=can_operate)
def cancel_task(request: HttpRequest, qname: str, task_id: str) -> HttpResponse:
    return _one(request, TaskAction.CANCEL, qname, task_id)


# -- all tasks in a state ----------------------------------------------------------------------


def _all(
    request: HttpRequest, action: TaskAction, qname: str, state: str, gname: str | None
) -> int:
    st = TaskState(state)
    if not Abilities.of(request.user).bulk_action(action, st):  # type: ignore[arg-type]
        raise ApiError(403, f"your role does not allow {action} all on {st} tasks")
    insp = inspector()
    entry = new_entry(request, f"api:{action}_all", queue=qname, state=st, group=gname or "")
    with audited(entry) as change:
        if action is TaskAction.RUN:
            change.count = insp.run_all(qname, st, gname)
        elif action is TaskAction.ARCHIVE:
            change.count = insp.archive_all(qname, st, gname)
        else:
            change.count = insp.delete_all(qname, st, gname)
    return change.count


@endpoint(("DELETE",), need=can_operate)
def delete_all(
    request: HttpRequest, qname: str, state: str, gname: str | None = None
) -> HttpResponse:
    return JsonResponse({"deleted": _all(request, TaskAction.DELETE, qname, state, gname)})


@endpoint(("POST",), need=can_operate)
def run_all(request: HttpRequest, qname: str, state: str, gname: str | None = None) -> HttpResponse:
    return JsonResponse({"scheduled": _all(request, TaskAction.RUN, qname, state, gname)})


@endpoint(("POST",), need=can_operate)
def archive_all(
    request: HttpRequest, qname: str, state: str, gname: str | None = None
) -> HttpResponse:
    return JsonResponse({"archived": _all(request, TaskAction.ARCHIVE, qname, state, gname)})


@endpoint(("POST",), need=can_all(TaskAction.CANCEL, TaskState.ACTIVE))
def cancel_all(request: HttpRequest, qname: str) -> HttpResponse:
    entry = new_entry(request, "api:cancel_all", queue=qname, state=TaskState.ACTIVE)
    with audited(entry) as change:
        change.count = inspector().cancel_all_active(qname)
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
    insp = inspector()
    entry = new_entry(request, f"api:{action}_selected", queue=qname, task_ids=ids)
    with audited(entry) as change:
        if action is TaskAction.CANCEL:
            for task_id in ids:
                insp.cancel_processing(task_id)
            succeeded, failed = list(ids), []
        else:
            perform = {
                TaskAction.DELETE: insp.delete_tasks,
                TaskAction.RUN: insp.run_tasks,
                TaskAction.ARCHIVE: insp.archive_tasks,
            }[action]
            result = perform(qname, ids)
            succeeded, failed = result.succeeded, result.failed
        change.count, change.total = len(succeeded), len(ids)
        change.outcome = Outcome.PARTIAL if failed else Outcome.SUCCEEDED
    ok_key, failed_key = BATCH_KEYS[action]
    return JsonResponse({ok_key: succeeded, failed_key: failed})


@endpoint(("POST",), need=can_operate)
def batch_delete(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.DELETE, qname)


@endpoint(("POST",), need=can_operate)
def batch_run(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.RUN, qname)


@endpoint(("POST",), need=can_operate)
def batch_archive(request: HttpRequest, qname: str, **_: str) -> HttpResponse:
    return _batch(request, TaskAction.ARCHIVE, qname)


@endpoint(("POST",), need=can_operate)
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
    conf = RedisSettings.from_url(redis_url())
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
        prefix = (settings.FORCE_SCRIPT_NAME or "").rstrip("/")
        return text(
            501,
            'no Prometheus server is configured: set QUEUECORE["PROMETHEUS_URL"] to the '
            f"Prometheus that scrapes {prefix}/metrics",
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
