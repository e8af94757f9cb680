"""Template context every dashboard page needs: the user's abilities and preferences, and the
Redis instance being shown with the switcher's links to the others."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from dashboard.access import Abilities, read_only
from dashboard.http import prefs
from dashboard.scope import reverse
from queuecore.contrib.django import instances


def switcher() -> dict[str, Any]:
    """The current instance and, when there are several, a link to each one's overview."""
    links = []
    if len(instances.names()) > 1:
        for instance in instances.configured():
            with instances.using(instance.name):
                links.append((instance, reverse("dashboard:overview")))
    return {"current": instances.current(), "links": links, "fleet": reverse("dashboard:fleet")}


def dashboard(request: HttpRequest) -> dict[str, Any]:
    if not request.user.is_authenticated:
        return {"read_only": read_only()}
    return {
        "read_only": read_only(),
        "can": SimpleLazyObject(lambda: Abilities.of(request.user)),  # type: ignore[arg-type]
        "prefs": SimpleLazyObject(lambda: prefs(request)),
        "instances": SimpleLazyObject(switcher),
    }
