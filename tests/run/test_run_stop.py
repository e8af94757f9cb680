"""``scripts/run stop``: stopping a running ``scripts/run`` from another shell (its run.json)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Stands in for the launcher: exits on SIGTERM, as the launcher does once its children are down.
LAUNCHER = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "print('up', flush=True)\n"
    "while True: time.sleep(0.1)\n"
)


def run_stop(run_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUN_DIR": str(run_dir)}
    return subprocess.run(
        [str(ROOT / "scripts" / "run"), "stop"], env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


def test_scripts_run_stop_sigterms_the_launcher_named_in_run_json_and_forgets_it(
    tmp_path: Path,
) -> None:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        assert launcher.stdout.readline() == "up\n"  # its SIGTERM handler is in place
        (tmp_path / "run.json").write_text(json.dumps({"launcher": launcher.pid, "groups": {}}))
        done = run_stop(tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"stopping scripts/run (pid {launcher.pid})" in done.stdout
        assert launcher.wait(timeout=10) == 0
        assert not (tmp_path / "run.json").exists()
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_scripts_run_stop_says_so_when_nothing_is_running(tmp_path: Path) -> None:
    done = run_stop(tmp_path)
    assert done.returncode == 0
    assert "scripts/run is not running" in done.stdout
