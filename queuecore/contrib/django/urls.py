"""Operational endpoints: ``healthz`` (no login) and ``metrics`` (login or bearer token).

Mounted at the site root by ``config.urls``:
``path("", include("queuecore.contrib.django.urls"))``.
"""

from django.urls import path

from queuecore.contrib.django.health import healthz
from queuecore.contrib.django.metrics import metrics_view

app_name = "queuecore"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
]
