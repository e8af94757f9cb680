"""Fresh virtual environments and the commands run in them, for the packaging tests.

Everything runs from a directory outside the repository with a clean environment, so the
repository's sources are never on an installed program's path.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIP_FLAGS = ("--quiet", "--disable-pip-version-check")


def pinned(name: str) -> str:
    """The ``name==version`` line of requirements-dev.txt (build tools are pinned there)."""
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in requirements-dev.txt")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: none of this test run's Python or Django settings."""
    drop = {"PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONSAFEPATH"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PYTEST")}
    env.update(extra)
    return env


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    done = subprocess.run(
        args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


@dataclass(frozen=True)
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def pip_install(self, *requirements: str, cwd: Path) -> None:
        constraints = ("--constraint", str(ROOT / "requirements.txt"))
        run([self.python, "-m", "pip", "install", *PIP_FLAGS, *constraints, *requirements], cwd=cwd)


def new_venv(path: Path) -> Venv:
    python = subprocess.run(
        [str(ROOT / "scripts" / "python")], capture_output=True, text=True, check=True
    ).stdout.strip()
    run([python, "-m", "venv", str(path)], cwd=path.parent)
    return Venv(path)


def site_packages_of(venv: Venv, module: str, cwd: Path) -> Path:
    """Where ``import module`` resolves in that venv, run from ``cwd``."""
    code = f"import {module}, pathlib; print(pathlib.Path({module}.__file__).resolve())"
    return Path(run([venv.python, "-c", code], cwd=cwd).stdout.strip())
