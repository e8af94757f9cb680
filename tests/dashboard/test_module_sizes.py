"""The dashboard's modules stay small enough to read in one sitting."""

from __future__ import annotations

from pathlib import Path

import dashboard

MAX_LINES = 600


def test_no_dashboard_module_is_over_600_lines() -> None:
    root = Path(dashboard.__file__).parent
    sizes = {
        str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
