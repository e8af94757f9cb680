"""Asynqmon's REST paths under ``api/``: ``include("dashboard.api.urls")`` at ``api/``.

Paths whose last segment carries a ``:verb`` suffix come before the plain ones, so that a plain
``<name>`` never swallows the suffix.
"""

from django.urls import URLPattern, path, register_converter

from dashboard.api import views
from dashboard.converters import NameConverter

register_converter(NameConverter, "api_name")

app_name = "api"

LIST_STATES = ("active", "pending", "scheduled", "retry", "archived", "completed")
RUNNABLE = ("scheduled", "retry", "archived", "aggregating")
ARCHIVABLE = ("pending", "scheduled", "retry", "aggregating")
DELETABLE = ("pending", "scheduled", "retry", "archived", "completed", "aggregating")
AGGREGATING = "queues/<api_name:qname>/groups/<api_name:gname>/aggregating_tasks"


def state_routes(state: str, base: str = "", name: str | None = None) -> list[URLPattern]:
    base = base or f"queues/<api_name:qname>/{state}_tasks"
    kw = {"state": state}
    routes = []
    if state in RUNNABLE:
        routes += [
            path(f"{base}/<api_name:task_id>:run", views.run_task, kw),
            path(f"{base}:run_all", views.run_all, kw),
            path(f"{base}:batch_run", views.batch_run, kw),
        ]
    if state in ARCHIVABLE:
        routes += [
            path(f"{base}/<api_name:task_id>:archive", views.archive_task, kw),
            path(f"{base}:archive_all", views.archive_all, kw),
            path(f"{base}:batch_archive", views.batch_archive, kw),
        ]
    if state in DELETABLE:
        routes += [
            path(f"{base}:delete_all", views.delete_all, kw),
            path(f"{base}:batch_delete", views.batch_delete, kw),
            path(f"{base}/<api_name:task_id>", views.delete_task, kw),
        ]
    routes.append(path(base, views.list_tasks, kw, name=name))
    return routes


urlpatterns = [
    path("queues", views.list_queues, name="queues"),
    path("queues/<api_name:qname>:pause", views.pause_queue, name="pause"),
    path("queues/<api_name:qname>:resume", views.resume_queue, name="resume"),
    path("queue_stats", views.queue_stats, name="queue-stats"),
    path(
        "queues/<api_name:qname>/active_tasks/<api_name:task_id>:cancel",
        views.cancel_task,
        name="cancel",
    ),
    path("queues/<api_name:qname>/active_tasks:cancel_all", views.cancel_all),
    path("queues/<api_name:qname>/active_tasks:batch_cancel", views.batch_cancel),
    *[route for state in LIST_STATES for route in state_routes(state)],
    *state_routes("aggregating", AGGREGATING, name="aggregating"),
    path("queues/<api_name:qname>/tasks/<api_name:task_id>", views.get_task, name="task"),
    path("queues/<api_name:qname>/groups", views.list_groups, name="groups"),
    path("queues/<api_name:qname>", views.queue, name="queue"),
    path("servers", views.list_servers, name="servers"),
    path("scheduler_entries", views.list_scheduler_entries, name="scheduler-entries"),
    path(
        "scheduler_entries/<api_name:entry_id>/enqueue_events",
        views.list_enqueue_events,
        name="enqueue-events",
    ),
    path("redis_info", views.redis_info, name="redis-info"),
    path("metrics", views.metrics, name="metrics"),
]
