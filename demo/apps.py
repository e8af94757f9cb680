from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Example handlers and a task generator for ``scripts/run``; not in production settings."""

    name = "demo"
    verbose_name = "demo tasks"
