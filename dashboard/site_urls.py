"""Everything the dashboard serves, for one ``include()`` under any prefix.

    path("ops/queues/", include("dashboard.site_urls"))

``healthz`` (no login) and ``metrics`` (login or bearer token) come first, then Asynqmon's JSON API
under ``api/``, then the pages. Each keeps its own URL namespace (``queuecore``, ``api``,
``dashboard``), so links are reversed, never written, and follow the prefix.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("queuecore.contrib.django.urls")),
    path("api/", include("dashboard.api.urls")),
    path("", include("dashboard.urls")),
]
