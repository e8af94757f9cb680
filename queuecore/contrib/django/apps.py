from django.apps import AppConfig


class QueuecoreConfig(AppConfig):
    name = "queuecore.contrib.django"
    label = "queuecore"
    verbose_name = "queuecore"

    def ready(self) -> None:
        # Django registers the TASKS system checks (and so our backend's check()) only once
        # something imports django.tasks; nothing in Django core does.
        import django.tasks  # noqa: F401

        from queuecore.contrib.django import checks  # noqa: F401  (registers the QUEUECORE checks)
