"""A host project that mounts the dashboard under a prefix (see test_configuration)."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("ops/queues/", include("dashboard.site_urls")),
]
