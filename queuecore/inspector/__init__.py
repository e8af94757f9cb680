"""The Inspector: every read and action of asynq's Inspector over the same Redis data.

``Inspector`` (``facade``) is the API; search, breakdown, the layout check and the server and
scheduler registries are modules of their own, and ``queuecore.rdb`` decides every key and
Redis type they read.

Names are asynq's in snake_case and the semantics follow spec §4.4 and §6, so a queue looks the same
here as in Go's Inspector, the asynq CLI and Asynqmon. Deliberate differences, each also stated on
the method concerned:

* archive actions delete the task records their trim drops (asynq leaks them, issue #730/#847);
* "all" actions (``run_all``, ``archive_all``, ``delete_all``, ``delete_queue(force=True)``) work in
  chunks of at most ``chunk_size`` ids per script call, so no single Redis call blocks for long on
  a million tasks, and report progress through a callback;
* ``get_queue_info(cheap=True)`` skips ``MEMORY USAGE`` and bounds the group scan, for polling;
  the default mode is asynq's (sampled memory usage, nil-guarded, ``None`` where forbidden);
* ``search`` scans at most ``budget`` tasks per call and returns a cursor to continue;
* ``breakdown`` (not in asynq: tasks of a state by type and by error signature) is bounded the
  same way, and only each message's type and last error leave Redis;
* ids whose record is gone, undecodable messages and foreign key types are skipped and counted
  (``TaskPage.skipped``, ``SearchResult.skipped``), never an exception that breaks a page.
"""

from queuecore.inspector.breakdown import BREAKDOWN_READ_SIZE, DEFAULT_BREAKDOWN_BUDGET
from queuecore.inspector.facade import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_GROUP_SCAN_BOUND,
    DEFAULT_PAGE_SIZE,
    Inspector,
    Progress,
)
from queuecore.inspector.layout import (
    LAYOUT_COMPATIBLE,
    LAYOUT_DEADLINES,
    LAYOUT_EMPTY,
    LAYOUT_LIST_MESSAGES,
    LAYOUT_MAX_QUEUES,
    LAYOUT_SAMPLE,
    LAYOUT_SCAN_CALLS,
    LAYOUT_SCAN_COUNT,
    LAYOUT_UNKNOWN,
    judge_layout,
)
from queuecore.inspector.search import DEFAULT_SEARCH_BUDGET, SEARCH_READ_SIZE

__all__ = [
    "BREAKDOWN_READ_SIZE",
    "DEFAULT_BREAKDOWN_BUDGET",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_GROUP_SCAN_BOUND",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_SEARCH_BUDGET",
    "LAYOUT_COMPATIBLE",
    "LAYOUT_DEADLINES",
    "LAYOUT_EMPTY",
    "LAYOUT_LIST_MESSAGES",
    "LAYOUT_MAX_QUEUES",
    "LAYOUT_SAMPLE",
    "LAYOUT_SCAN_CALLS",
    "LAYOUT_SCAN_COUNT",
    "LAYOUT_UNKNOWN",
    "SEARCH_READ_SIZE",
    "Inspector",
    "Progress",
    "judge_layout",
]
