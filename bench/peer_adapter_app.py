"""queuecore without Django as a peer (``run.py --adapter ours-app=bench/peer_adapter_app.py``).

The same adapter as ``peer_adapter.py`` (same producer), but its "1 proc" worker is
``bench/worker_app.py`` — ``queuecore.Server`` without ``manage.py``'s Django start-up — and its
"best" is several such processes. Reported next to ``ours`` so both figures are visible.
"""

from __future__ import annotations

import importlib.util
import os

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "queuecore_peer_adapter", os.path.join(_HERE, "peer_adapter.py")
)
if _spec is None or _spec.loader is None:
    raise ImportError("bench/peer_adapter.py not found")
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)

ADAPTER = _base.QueuecoreAdapter(worker="app", best="app-x4")
ADAPTER.name = "ours-app"
