"""The dashboard's HTTP edges in one place: the view guard, error → status mapping, action replies.

Every page and action goes through :func:`dashboard_view`. :data:`STATUS_BY_ERROR` is the one
place where queuecore's errors become HTTP statuses (404 / 409 / 400 / 503), for the pages (rendered
as a banner, full page or htmx fragment, never a 500) and for the JSON API (its own column, read by
``dashboard.api.views``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from dashboard.access import Abilities, ReadOnlyError
from dashboard.converters import check_lengths
from dashboard.models import UserSettings
from dashboard.recycle import RecycleBinError
from queuecore.contrib.django import instances
from queuecore.errors import (
    DuplicateTaskError,
    InvalidArgumentError,
    MalformedDataError,
    QueueCoreError,
    QueueHasActiveTasksError,
    QueueNotEmptyError,
    QueueNotFoundError,
    QueuePausedStateError,
    RedisUnavailableError,
    TaskIdConflictError,
    TaskNotFoundError,
    WrongStateError,
)

# The one mapping of errors to HTTP statuses, for the pages and the JSON API. First match wins;
# subclasses before their bases. Columns: the error, its status on a page, its status in the JSON
# API, the page's title. The API keeps Asynqmon's statuses where scripts may rely on them: 405 in
# read-only mode, 400 for deleting a queue that is not empty, 500 for any other queuecore error.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int, int, str], ...] = (
    (QueueNotFoundError, 404, 404, "Queue not found"),
    (TaskNotFoundError, 404, 404, "Task not found"),
    (Http404, 404, 404, "Not found"),
    (WrongStateError, 409, 409, "The task has changed state"),
    (QueueNotEmptyError, 409, 400, "The queue is not empty"),
    (QueueHasActiveTasksError, 409, 409, "The queue has active tasks"),
    (QueuePausedStateError, 409, 409, "The queue has changed state"),
    (RecycleBinError, 409, 409, "The request could not be done"),
    (DuplicateTaskError, 409, 409, "A task like this already exists"),
    (TaskIdConflictError, 409, 409, "A task with this id already exists"),
    (InvalidArgumentError, 400, 400, "Bad request"),
    (BadRequest, 400, 400, "Bad request"),
    (ReadOnlyError, 403, 405, "Not allowed"),
    (PermissionDenied, 403, 403, "Not allowed"),
    (RedisUnavailableError, 503, 503, "Redis is not answering"),
    (MalformedDataError, 409, 409, "The record cannot be read"),
    (QueueCoreError, 409, 500, "The request could not be done"),
)
# What views let through to be mapped (anything else is a bug, and Django's 500).
MAPPED_ERRORS = (QueueCoreError, BadRequest, Http404, PermissionDenied)
# The id of the element every page polls; a failed poll answers with a banner in its place.
PAGE_TARGET = "page"

View = Callable[..., HttpResponse]


def status_of(exc: Exception, *, api: bool = False) -> tuple[int, str]:
    """The status (a page's, or the JSON API's) and the page title for ``exc``."""
    for error_type, status, api_status, title in STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return (api_status if api else status), title
    raise exc


def prefs(request: HttpRequest) -> UserSettings:
    cached = getattr(request, "_dashboard_prefs", None)
    if cached is None:
        cached, _ = UserSettings.objects.get_or_create(user=request.user)  # type: ignore[misc]
        request._dashboard_prefs = cached  # type: ignore[attr-defined]
    return cached


def dashboard_view[**P](
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Login + the request's instance + view permission on it + the user's time zone + error
    mapping + no caching."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.htmx:  # type: ignore[attr-defined]
                return HttpResponse("Login required", status=401)
            return redirect_to_login(request.get_full_path())
        with instances.using(instances.of_request(request)):
            try:
                if not may_view(request, across=getattr(view, "across_instances", False)):
                    raise PermissionDenied("Your account has no dashboard role here.")
                check_lengths(kwargs)
                with timezone.override(zoneinfo.ZoneInfo(prefs(request).time_zone)):
                    response = view(request, *args, **kwargs)
            except MAPPED_ERRORS as exc:
                response = failure_response(request, exc)
        add_never_cache_headers(response)
        return response

    return guarded


def across_instances[V](view: V) -> V:
    """Marks a page over every instance (the fleet overview): a role on any one lets it open."""
    view.across_instances = True  # type: ignore[attr-defined]
    return view


def may_view(request: HttpRequest, *, across: bool) -> bool:
    if not across:
        return Abilities.of(request.user).view  # type: ignore[arg-type]
    return any(viewable(request, i.name) for i in instances.configured())


def viewable(request: HttpRequest, name: str) -> bool:
    with instances.using(name):
        return Abilities.of(request.user).view  # type: ignore[arg-type]


def failure_response(request: HttpRequest, exc: Exception) -> HttpResponse:
    status, title = status_of(exc)
    context = {"title": title, "message": str(exc) or title, "status": status}
    if not request.htmx:  # type: ignore[attr-defined]
        return render(request, "dashboard/failure.html", context, status=status)
    if request.htmx.target == PAGE_TARGET:  # type: ignore[attr-defined]
        return render(request, "dashboard/failure.html#page", context, status=status)
    return flash_fragment(request, str(exc) or title, "error", status=status, changed=True)


def flash_fragment(
    request: HttpRequest, message: str, level: str, *, status: int = 200, changed: bool = True
) -> HttpResponse:
    """An htmx answer to an action: a short message in #flash, and tell the page to refresh."""
    response = render(
        request,
        "dashboard/base.html#flash",
        {"flash": message, "flash_level": level},
        status=status,
    )
    response["HX-Retarget"] = "#flash"
    response["HX-Reswap"] = "innerHTML"
    if changed:
        # dashboard:changed refreshes the polled page; dashboard:acted also refreshes panels
        # that polls leave alone (the Breakdown), since an action is what changes what they count.
        response["HX-Trigger"] = "dashboard:changed, dashboard:acted"
    return response


def action_reply(
    request: HttpRequest, message: str, *, level: str = "success", fallback: str = "/"
) -> HttpResponse:
    """The answer to a finished action: a fragment for htmx, else a redirect back with a message."""
    if request.htmx:  # type: ignore[attr-defined]
        return flash_fragment(request, message, level)
    messages.add_message(
        request, messages.SUCCESS if level == "success" else messages.ERROR, message
    )
    return HttpResponseRedirect(safe_next(request, fallback))


def safe_next(request: HttpRequest, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, partial: str = "content"
) -> HttpResponse:
    """The full page, or only its partial when htmx asks (polls, tabs, paging)."""
    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx and not htmx.boosted and htmx.target in (PAGE_TARGET, None):
        return render(request, f"{template}#{partial}", context)
    return render(request, template, context)
