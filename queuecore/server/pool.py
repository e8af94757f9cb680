"""Several worker processes from one command, for CPU-bound handlers (one GIL each).

The parent forks ``count`` children before it starts any thread; each child builds and runs its
own Server (its own Redis connections). SIGTERM/SIGINT received by the parent are passed on, so
every child shuts down gracefully (requeueing what it could not finish); so is SIGTSTP (Ctrl-Z),
after which every child takes no new task but finishes what it holds (``Server.stop_processing``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("queuecore.server.pool")


def run_in_processes(
    count: int,
    serve: Callable[[], int | None],
    *,
    while_waiting: Callable[[threading.Event], None] | None = None,
) -> int:
    """Fork ``count`` children running ``serve()``; return 0 when all exited cleanly.

    ``while_waiting(stop)`` runs in the parent (on a thread) until every child has exited; the
    runworker command uses it for ``--with-scheduler``.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    # A child ignores SIGTSTP until its Server.run() handles it: suspended by the default action,
    # it would never see the SIGTERM that follows.
    tstp_before = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    children: list[int] = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                code = int(serve() or 0)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)

    alive = set(children)

    def forward(signum: int, _frame: FrameType | None) -> None:
        for pid in list(alive):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                alive.discard(pid)

    forwarded = (signal.SIGTERM, signal.SIGINT, signal.SIGTSTP)
    previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    previous[signal.SIGTSTP] = tstp_before
    stop = threading.Event()
    helper = None
    if while_waiting is not None:
        helper = threading.Thread(target=while_waiting, args=(stop,), daemon=True)
        helper.start()
    worst = 0
    try:
        while alive:
            pid, status = os.waitpid(-1, 0)
            if pid not in alive:
                continue
            alive.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                log.error("worker process %d exited with %d", pid, code)
                worst = worst or (code if code > 0 else 1)
    finally:
        stop.set()
        if helper is not None:
            helper.join(timeout=15)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return worst
