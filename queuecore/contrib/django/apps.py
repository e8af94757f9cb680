from django.apps import AppConfig


class QueuecoreConfig(AppConfig):
    # INSTALLED_APPS names "queuecore.contrib.django"; Django then takes the app's module from
    # here. The sub-module's last name is what `manage.py help` shows (see its docstring).
    name = "queuecore.contrib.django.queuecore"
    label = "queuecore"
    verbose_name = "queuecore"

    def ready(self) -> None:
        # Django registers the TASKS system checks (and so our backend's check()) only once
        # something imports django.tasks; nothing in Django core does.
        import django.tasks  # noqa: F401

        from queuecore.contrib.django import checks  # noqa: F401  (registers the QUEUECORE checks)
