"""gunicorn settings for the dashboard: ``gunicorn config.wsgi:application -c gunicorn.conf.py``.

Every value can be changed through the environment, so one file serves ``scripts/run`` on a laptop
and a production host behind a TLS-terminating proxy. The task worker and the scheduler are separate
processes (``manage.py runworker`` / ``manage.py runscheduler``), never run inside gunicorn.
"""

from __future__ import annotations

import os

# Loopback by default: a public bind should be a deliberate choice (BIND=0.0.0.0:8000).
bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"]

# Pages are short Redis reads, mostly I/O wait: a few processes with threads each serve many
# polling browsers without a process per client.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# htmx polls are cheap; a request still running after 30 s is stuck, not slow.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5

# Recycle workers now and then so a slow leak in any dependency never grows without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200

# "-" logs each request to stdout; GUNICORN_ACCESSLOG="" turns the access log off.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# X-Forwarded-* is trusted from these addresses only (the reverse proxy); see the README's Deploy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn 25+ opens a control socket at a fixed per-user path; two instances on one host (tests,
# scripts/run next to a production copy) would fight over it, and nothing here uses it.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""

# Containers often mount /tmp on disk; the heartbeat file is cheaper in memory when it exists.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's documented choice for worker heartbeats
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM

proc_name = "queuecore-dashboard"
