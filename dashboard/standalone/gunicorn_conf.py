"""gunicorn settings of the standalone dashboard; bind, workers and threads come from its flags.

Passed as ``-c python:dashboard.standalone.gunicorn_conf`` so that a ``gunicorn.conf.py`` in the
directory the command is started from is never picked up by accident.
"""

import os

worker_class = "gthread"
timeout = 30
graceful_timeout = 10
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# gunicorn 25+ opens a control socket at a fixed per-user path; two instances would fight over it.
control_socket_disable = True
proc_name = "queuecore-dashboard"
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's documented choice for worker heartbeats
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM
