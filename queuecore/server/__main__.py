"""``python -m queuecore.server`` (installed: ``queuecore-worker``): a worker without Django (the
lightest process, ~38 MB idle).

    python -m queuecore.server --redis-url redis://127.0.0.1:6379/0 \\
        --import myproject.handlers -q critical=6 -q default=3 --concurrency 20

``--import`` names modules whose ``@handler`` registrations fill the default ServeMux. Django
projects use ``manage.py runworker``, which discovers each app's ``tasks`` module instead.
SIGTERM/SIGINT shut down gracefully; SIGTSTP (Ctrl-Z, as in Go asynq) stops taking new tasks.
A Redis that cannot be reached at start is an error (exit status 1); once running, the worker
rides out Redis outages.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from queuecore.client import Client
from queuecore.errors import QueueCoreError, RedisUnavailableError
from queuecore.handlers import default_mux
from queuecore.rdb.settings import RedisSettings
from queuecore.server.config import ServerConfig
from queuecore.server.policy import parse_queue_spec
from queuecore.server.pool import run_in_processes
from queuecore.server.server import Server


def build_parser() -> argparse.ArgumentParser:
    installed = os.path.basename(sys.argv[0]) == "queuecore-worker"
    prog = "queuecore-worker" if installed else "python -m queuecore.server"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE")
    parser.add_argument("-q", "--queue", dest="queues", action="append", default=[])
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--shutdown-timeout", type=float, default=8.0)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s",
    )
    try:
        for module in args.imports:
            importlib.import_module(module)
        config = ServerConfig(
            queues=parse_queue_spec(args.queues) or {"default": 1},
            concurrency=args.concurrency,
            strict_priority=args.strict,
            shutdown_timeout=args.shutdown_timeout,
        )
        display = RedisSettings.from_url(args.redis_url).display()
    except (QueueCoreError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with Client.from_url(args.redis_url) as client:
            client.ping()
    except RedisUnavailableError as exc:
        print(f"error: cannot reach Redis at {display}: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("queuecore.server").info(
        "serving %s on %s with %d handler(s), concurrency %d",
        ", ".join(f"{q}={w}" for q, w in config.queues.items()),
        display,
        len(default_mux),
        config.concurrency,
    )

    def serve() -> int:
        Server.from_url(args.redis_url, config=config).run(burst=args.burst)
        return 0

    if args.processes > 1:
        return run_in_processes(args.processes, serve)
    return serve()


if __name__ == "__main__":
    sys.exit(main())
