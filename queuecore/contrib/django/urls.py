"""Operational endpoints: ``healthz`` (no login) and ``metrics`` (login or bearer token).

Part of ``dashboard.site_urls`` (the one include a project mounts under its prefix); a project
without the dashboard can mount these alone: ``path("", include("queuecore.contrib.django.urls"))``.
"""

from django.urls import path

from queuecore.contrib.django.health import healthz
from queuecore.contrib.django.metrics import metrics_view

app_name = "queuecore"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
