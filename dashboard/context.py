"""Template context every dashboard page needs: the user's abilities and preferences."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.access import Abilities, read_only
from dashboard.http import prefs


def dashboard(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {"read_only": read_only()}
    return {
        "read_only": read_only(),
        "can": SimpleLazyObject(lambda: Abilities.of(request.user)),  # type: ignore[arg-type]
        "prefs": SimpleLazyObject(lambda: prefs(request)),
    }
