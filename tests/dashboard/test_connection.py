"""One connection registry per process: the dashboard and the Django glue share pools."""

from __future__ import annotations

from dashboard import connection
from queuecore.contrib.django.connection import shared_client, shared_inspector


def test_the_dashboard_and_the_django_glue_share_one_inspector_and_pool_per_url(
    queuecore_settings: str,
) -> None:
    # The same object holds the same pool: metrics, django.tasks and the pages use one.
    assert connection.inspector() is shared_inspector() is shared_inspector(queuecore_settings)


def test_the_dashboard_and_the_tasks_backend_share_one_client_per_url(
    queuecore_settings: str,
) -> None:
    assert connection.client() is shared_client() is shared_client(queuecore_settings)
