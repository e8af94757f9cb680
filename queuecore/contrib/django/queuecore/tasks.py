"""Handlers this app gives ``runworker`` (found by its ``tasks`` autodiscovery).

``django.tasks``: runs the tasks Django's ``@task`` API enqueued through
:class:`queuecore.contrib.django.tasks_backend.QueuecoreBackend`.
"""

from queuecore.contrib.django.tasks_backend import TASK_TYPE, run_django_task
from queuecore.handlers import default_mux

default_mux.register(TASK_TYPE, run_django_task)
