"""Dashboard URLs. Login is required everywhere (LoginRequiredMiddleware and dashboard_view)."""

from django.urls import path, register_converter

from dashboard.converters import (
    ActionConverter,
    NameConverter,
    PartConverter,
    QueueActionConverter,
    StateConverter,
)
from dashboard.views import (
    account,
    actions,
    alerts,
    breakdown,
    create,
    export,
    findings,
    fleet,
    metrics,
    pages,
    recycle,
    unreadable,
)

register_converter(NameConverter, "name")
register_converter(StateConverter, "state")
register_converter(ActionConverter, "action")
register_converter(PartConverter, "part")
register_converter(QueueActionConverter, "queue_action")

app_name = "dashboard"

urlpatterns = [
    path("", pages.overview, name="overview"),
    path("fleet/", fleet.fleet, name="fleet"),
    path("findings/", findings.findings, name="findings"),
    path("alerts/", alerts.alerts, name="alerts"),
    path("alerts/test", alerts.send_test, name="alerts-test"),
    path("enqueue/", create.enqueue, name="enqueue"),
    path("import/", export.import_page, name="import"),
    path("queues/<name:queue>/", pages.queue_detail, name="queue"),
    path("queues/<name:queue>/jump", pages.jump, name="jump"),
    path("queues/<name:queue>/breakdown", breakdown.breakdown, name="breakdown"),
    path("queues/<name:queue>/export", export.export, name="export"),
    path("queues/<name:queue>/tasks/<name:task_id>/", pages.task_detail, name="task"),
    path(
        "queues/<name:queue>/tasks/<name:task_id>/raw/<part:part>", pages.task_raw, name="task-raw"
    ),
    path("queues/<name:queue>/tasks/<name:task_id>/clone", create.clone, name="task-clone"),
    path(
        "queues/<name:queue>/unreadable/<name:task_id>/export",
        unreadable.export,
        name="unreadable-export",
    ),
    path(
        "queues/<name:queue>/unreadable/<name:task_id>/delete",
        unreadable.delete,
        name="unreadable-delete",
    ),
    path(
        "queues/<name:queue>/tasks/<name:task_id>/<action:action>",
        actions.task_action,
        name="task-action",
    ),
    path(
        "queues/<name:queue>/selected/<action:action>",
        actions.selected_action,
        name="selected-action",
    ),
    path(
        "queues/<name:queue>/all/<state:state>/<action:action>",
        actions.all_action,
        name="all-action",
    ),
    path("queues/<name:queue>/<queue_action:action>", actions.queue_action, name="queue-action"),
    path("operations/<int:pk>/", actions.operation, name="operation"),
    path("servers/", pages.servers, name="servers"),
    path("schedulers/", pages.schedulers, name="schedulers"),
    path("schedulers/<name:entry_id>/history/", pages.scheduler_history, name="scheduler-history"),
    path("schedulers/<name:entry_id>/run", create.run_entry, name="scheduler-run"),
    path("redis/", pages.redis, name="redis"),
    path("prometheus/", metrics.metrics_page, name="metrics"),
    path("settings/", account.user_settings, name="settings"),
    path("audit/", account.audit_log, name="audit"),
    path("recently-deleted/", recycle.recently_deleted, name="recycle-bin"),
]
