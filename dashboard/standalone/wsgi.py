"""WSGI entry of the standalone dashboard (gunicorn ``dashboard.standalone.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.standalone.settings")
application = get_wsgi_application()
