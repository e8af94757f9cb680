"""Who is calling the JSON API: a dashboard session, or a token from ``QUEUECORE["API_TOKENS"]``.

A token (``Authorization: Bearer <token>`` or ``Token <token>``) acts as the user it is mapped to,
so it has exactly that user's role; disabling the user disables the token. A session caller must
pass Django's CSRF check on changes, as in the dashboard; token callers send no cookies, so they
need none (the same split as Django REST framework's session and token authentication).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from queuecore.contrib.django.conf import queuecore_setting

TOKEN_SCHEMES = ("bearer", "token")


@dataclass(frozen=True)
class Caller:
    # A user with permissions (any auth user model), or AnonymousUser.
    user: Any
    by_token: bool

    @property
    def authenticated(self) -> bool:
        return bool(self.user.is_authenticated)


def presented_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() not in TOKEN_SCHEMES or not token.strip():
        return None
    return token.strip()


def user_for_token(token: str) -> AbstractBaseUser | None:
    configured: dict[str, str] = dict(queuecore_setting("API_TOKENS") or {})
    username = None
    # Compare against every configured token so the time taken does not reveal a prefix match.
    for candidate, name in configured.items():
        if hmac.compare_digest(candidate.encode(), token.encode()):
            username = name
    if username is None:
        return None
    user_model = get_user_model()
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
    if user is None or not user.is_active:
        return None
    return user


def identify(request: HttpRequest) -> Caller | None:
    """The caller, or None when a token was presented and is not valid (never fall back)."""
    token = presented_token(request)
    if token is not None:
        user = user_for_token(token)
        return Caller(user, by_token=True) if user is not None else None
    return Caller(request.user, by_token=False)


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    return HttpResponse()


def csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF check for a session caller's change; None when it passes."""
    check = CsrfViewMiddleware(_no_view)
    check.process_request(request)
    return check.process_view(request, _no_view, (), {})
