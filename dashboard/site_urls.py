"""Everything the dashboard serves, for one ``include()`` under any prefix.

    path("ops/queues/", include("dashboard.site_urls"))

``healthz`` (no login) and ``metrics`` (login or bearer token) come first, then Asynqmon's JSON API
under ``api/``, then the pages. Each keeps its own URL namespace (``queuecore``, ``api``,
``dashboard``), so links are reversed, never written, and follow the prefix.

The default Redis instance is served at the top, as it always was; every other instance of
``QUEUECORE["INSTANCES"]`` gets the same URLs under ``i/<name>/``, in the namespaces
``queuecore@<name>``, ``api@<name>`` and ``dashboard@<name>``. ``{% url "dashboard:…" %}`` in a
page of an instance reverses to that instance's URL (Django picks the current namespace), and
``dashboard.scope.reverse`` does the same in Python. The patterns are built from the instance
names when this module is imported.
"""

from typing import Any

from django.urls import include, path
from django.urls.resolvers import URLPattern, URLResolver

from queuecore.contrib.django import instances


def _served(name: str) -> list[URLPattern | URLResolver]:
    def one(module: str, app: str) -> Any:
        return include((module, app), namespace=instances.namespace(app, name))

    return [
        path("", one("queuecore.contrib.django.urls", "queuecore")),
        path("api/", one("dashboard.api.urls", "api")),
        path("", one("dashboard.urls", "dashboard")),
    ]


urlpatterns: list[URLPattern | URLResolver] = [
    *(path(f"i/{name}/", include(_served(name))) for name in instances.names()[1:]),
    *_served(instances.DEFAULT),
]
