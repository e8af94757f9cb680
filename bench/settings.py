"""Django settings for benchmark workers: the project's settings plus the ``bench`` app.

``DJANGO_SETTINGS_MODULE=bench.settings manage.py runworker ...`` (see bench/peer_adapter.py)
discovers ``bench/tasks.py``; Redis comes from ``REDIS_URL`` as in the project's settings.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
