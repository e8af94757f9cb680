"""Ratios against Go asynq from one ``bench/run`` result.

``python3 bench/go_ratios.py bench/results-<time>.json``

Prints a markdown table, one row per peer, of its medians divided by the ``go`` peer's from the
same run (enqueue, drain 1 proc and best: higher is faster; latency p50/p99: Go's divided by the
peer's, so higher is also better for the peer) — the lines to paste under the table in
bench/results.md.
"""

from __future__ import annotations

import json
import math
import sys

# (column, summary key, True when a bigger value is better)
COLUMNS = (
    ("enqueue", "enqueue_tps", True),
    ("drain 1 proc", "process_1proc_tps", True),
    ("drain best", "process_best_tps", True),
    ("latency p50", "lat_p50_ms", False),
    ("latency p99", "lat_p99_ms", False),
    ("RSS 1 proc", "rss_1proc_mb", False),
)


def ratio(peer: dict, go: dict, key: str, higher_is_better: bool) -> str:
    ours, theirs = peer.get(key), go.get(key)
    if not ours or not theirs or any(math.isnan(v) for v in (ours, theirs)):
        return "—"
    value = ours / theirs if higher_is_better else theirs / ours
    return f"{value:.2f}x"


def main(path: str) -> int:
    with open(path) as f:
        summary = {row["peer"]: row for row in json.load(f)["summary"]}
    go = summary.get("go")
    if go is None:
        print("no 'go' peer in this run: run bench/run with go among --peers", file=sys.stderr)
        return 1
    print("| peer vs Go asynq | " + " | ".join(name for name, _, _ in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name, row in summary.items():
        if name != "go":
            cells = [ratio(row, go, key, better) for _, key, better in COLUMNS]
            print(f"| {name} | " + " | ".join(cells) + " |")
    print("\nRatios > 1 favour the peer (for latency and RSS: Go's value / the peer's).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
