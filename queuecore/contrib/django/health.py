"""``/healthz``: is this dashboard able to serve, i.e. is Redis reachable? No login, never cached.

200 ``{"status": "ok", "redis": "ok"}`` when Redis answers PING within a short timeout, else 503
``{"status": "unavailable", "redis": "<why>"}`` — for a load balancer, a container healthcheck or
systemd's watchdog. The database is not checked: the dashboard reads everything it shows from Redis.
``i/<name>/healthz`` probes that instance of ``QUEUECORE["INSTANCES"]``.
"""

from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from queuecore.contrib.django import instances
from queuecore.contrib.django.connection import health_probe
from queuecore.errors import QueueCoreError

log = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        health_probe(instances.get(instances.of_request(request)).url).ping()
    except QueueCoreError as exc:
        log.warning("healthz: Redis unreachable: %s", exc)
        return JsonResponse({"status": "unavailable", "redis": str(exc)}, status=503)
    return JsonResponse({"status": "ok", "redis": "ok"})
