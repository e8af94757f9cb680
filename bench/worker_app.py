"""A Django-free worker process for the peer benchmark: ``queuecore.Server`` and one no-op handler.

Run by the harness (see ``bench/peer_adapter.py``) from the project root as::

    .venv/bin/python -m bench.worker_app [--concurrency 10] [--queues default] [--log-level WARNING]

It is the same ``Server`` that ``manage.py runworker`` builds, with the same handler
(``bench/tasks.py``), without Django's start-up. ``peerbench`` comes from the harness folder,
which the harness puts on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import logging
import os

from peerbench import common

import bench.tasks  # noqa: F401  (registers the no-op handler)
from queuecore import Server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--queues", default="default", help="comma list: default, or a=2,b=1")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", common.REDIS_URL))
    args = parser.parse_args()
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    queues: dict[str, int] = {}
    for item in args.queues.split(","):
        name, _, weight = item.partition("=")
        queues[name.strip()] = int(weight or 1)
    Server.from_url(args.redis_url, queues=queues, concurrency=args.concurrency).run()


if __name__ == "__main__":
    main()
