from django.apps import AppConfig
from django.db.models.signals import post_migrate


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Queue dashboard"

    def ready(self) -> None:
        from dashboard import checks  # noqa: F401  (registers the dashboard's system checks)
        from dashboard.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="dashboard-roles")
