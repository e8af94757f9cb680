"""Finds handlers: imports the ``tasks`` module of every installed app, like admin autodiscovery.

A ``tasks.py`` that registers with ``@handler("type")`` is all an app needs; an app without one
is skipped, and an app whose ``tasks`` module fails to import fails loudly (the error is the
app's bug, not something to hide).
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec

from django.apps import apps

MODULE_NAME = "tasks"


def autodiscover_tasks(module_name: str = MODULE_NAME) -> list[str]:
    """Import ``<app>.<module_name>`` for every installed app that has one; returns their names."""
    imported = []
    for config in apps.get_app_configs():
        dotted = f"{config.name}.{module_name}"
        try:
            spec = find_spec(dotted)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        importlib.import_module(dotted)
        imported.append(dotted)
    return imported
