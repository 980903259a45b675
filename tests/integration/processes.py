"""Real processes for the scale-out and fault tests: a private Redis, Celery workers, gunicorn, a
private PostgreSQL cluster. Everything listens on a free port of its own and is stopped by process
id, so the tests are safe under xdist and never touch the machine's shared Redis or PostgreSQL.
"""

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection

from marketplace.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUEUES = "default,produce,exports,statements,email"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen | None, *, kill: bool = False, timeout: float = 10.0) -> None:
    """Stop a process started here (and its children: it leads a session of its own)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


STARTED: list[subprocess.Popen] = []  # stopped after each test (conftest.py), whatever happened


def spawn(args, *, env: dict, log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    STARTED.append(proc)
    return proc


def stop_all() -> None:
    while STARTED:
        stop(STARTED.pop(), kill=True)


# --- Redis ---------------------------------------------------------------------------------------


class PrivateRedis:
    """redis-server on a free port, in memory only; stop() is an outage, start() its end."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "PrivateRedis":
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = spawn(args, env=dict(os.environ), log=self.workdir / "redis.log", cwd=self.workdir)
        assert wait_for(lambda: listening(self.port), 10), "redis-server did not start"
        return self

    def stop(self) -> None:
        stop(self.proc, kill=True)  # SIGKILL: what was queued in it is lost, as in a crash


# --- the test database, seen from other processes ------------------------------------------------


def database_url(name: str | None = None) -> str:
    if connection.vendor != "postgresql":
        pytest.skip("other processes need a database they can open (PostgreSQL)")
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name or db['NAME']}"


def process_env(tmp_path: Path, *, broker: str, **extra) -> dict:
    """What a worker or web process of the test needs: the test database, a broker of its own, mail
    to files, private files under the test's folder."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",  # four slashes: an absolute path
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "plain",
        # The test users' passwords are hashed with the tests' fast hasher (tests/conftest.py).
        "PASSWORD_HASHERS": "django.contrib.auth.hashers.MD5PasswordHasher",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


# --- Celery ---------------------------------------------------------------------------------------


class Worker:
    """``celery worker`` consuming every queue, in a session of its own (kill() takes its pool
    processes with it, as a machine that dies would)."""

    def __init__(self, name: str, tmp_path: Path, *, broker: str, concurrency: int = 2, **env):
        self.name = name
        self.log = tmp_path / f"worker-{name}.log"
        args = [
            str(BIN / "celery"),
            "-A",
            "marketplace",
            "worker",
            "-Q",
            QUEUES,
            "-n",
            f"{name}@%h",
            "-c",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
        self.proc = spawn(args, env=process_env(tmp_path, broker=broker, **env), log=self.log)

    def ready(self, timeout: float = 60.0) -> "Worker":
        ok = wait_for(lambda: b" ready." in self.log.read_bytes() or self.proc.poll() is not None, timeout, 0.1)
        assert ok and self.proc.poll() is None, f"worker {self.name} did not start:\n{self.text()[-3000:]}"
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def received(self) -> int:
        """Task messages this worker took."""
        return self.text().count("] received")

    def kill(self) -> None:
        stop(self.proc, kill=True)

    def stop(self) -> None:
        stop(self.proc)


@contextlib.contextmanager
def publishing_to(broker: str):
    """This test process sends tasks to ``broker`` (as a web process does) instead of running them
    eagerly; restored afterwards."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url)

    def reset_pools():
        # Forget the pools, never close them: kombu keeps them by broker URL for the whole process,
        # and the next task sent (even an eager one) would find the previous broker's pool closed.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.task_always_eager, conf.broker_url = False, broker
    reset_pools()
    try:
        yield celery_app
    finally:
        conf.task_always_eager, conf.broker_url = saved
        reset_pools()


# --- web -------------------------------------------------------------------------------------------


class Web:
    """gunicorn serving the project (gunicorn.conf.py, flags win): two processes of four threads."""

    def __init__(self, tmp_path: Path, *, name: str = "web", **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{name}.log"
        args = [str(BIN / "gunicorn"), "marketplace.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "2"]
        args += ["--threads", "4", "--graceful-timeout", "3", "--max-requests", "0"]
        self.proc = spawn(args, env=process_env(tmp_path, **env), log=self.log)

    def ready(self, timeout: float = 60.0) -> "Web":
        ok = wait_for(lambda: listening(self.port) or self.proc.poll() is not None, timeout, 0.1)
        assert ok and self.proc.poll() is None, f"gunicorn did not start:\n{self.log.read_text()[-3000:]}"
        return self

    def stop(self) -> None:
        stop(self.proc)


# --- PostgreSQL -------------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb, a free port), to restart at will; run as the
    postgres user when the tests run as root (PostgreSQL refuses root)."""

    def __init__(self):
        binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        pg_ctl = binaries[-1] if binaries else shutil.which("pg_ctl")
        if not pg_ctl:
            pytest.skip("PostgreSQL's server programs (pg_ctl, initdb) are not installed")
        self.bin = Path(pg_ctl).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-fault-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"

    def _run(self, *args, timeout=60):
        return subprocess.run([*self.as_user, *map(str, args)], check=True, capture_output=True, timeout=timeout)

    def init(self) -> "PrivatePostgres":
        self._run(self.bin / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-N")
        return self.start()

    def start(self) -> "PrivatePostgres":
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-o", options, "-l", self.dir / "log", "-w", "start")
        return self

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- figures ---------------------------------------------------------------------------------------


def record(name: str, figures: dict) -> None:
    """Print a test's figures; with RECORD_FAULT_FIGURES=1, also keep them in bench/results.json
    under the entry named "faults" (read-modify-write under a file lock: benchmarks and parallel
    test processes write the same file)."""
    print(f"\nFIGURES {name}: {json.dumps(figures, default=str)}")
    if not os.environ.get("RECORD_FAULT_FIGURES"):
        return
    path = ROOT / "bench" / "results.json"
    with open(Path(tempfile.gettempdir()) / "marketplace-results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = json.loads(path.read_text()) if path.exists() else []
        entry = next((e for e in entries if e.get("name") == "faults"), None)
        if entry is None:
            entry = {"name": "faults", "tests": {}}
            entries.append(entry)
        entry["tests"][name] = figures
        entry["cores"] = os.cpu_count()
        path.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
