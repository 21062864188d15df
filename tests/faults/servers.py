"""Throwaway servers for the fault tests: a PostgreSQL cluster, a Redis server and Celery workers of
their own on free loopback ports, so killing them never touches the shared 5432/6379 servers.

Everything the tests drive runs in subprocesses (``manage.py``, ``celery``, ``gunicorn``) pointed at
these servers by environment variables; the test process itself only reads the database.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("SAM_PG_BIN", "/usr/lib/postgresql/15/bin"))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgresCluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sam-fault-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                     "--no-sync", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/sam_faults"

    def start(self) -> None:
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                                     str(self.dir / "log"), "-w", "-t", "60", "start"]),
                       check=True, capture_output=True, timeout=90)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
                       capture_output=True, timeout=90)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def connect(self, dbname: str = "sam_faults"):
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=dbname, autocommit=True)

    def createdb(self) -> None:
        with self.connect("postgres") as conn:
            conn.execute("CREATE DATABASE sam_faults")

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sam-fault-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # Append-only file, fsync on every write: what docker-compose.yml runs (there every second).
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        wait_for(lambda: _ping(redis, self.url), 30, "redis to answer")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


def _ping(redis, url) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


class Stack:
    """The servers plus the environment for subprocesses of the application."""

    def __init__(self, pg: PostgresCluster, broker: RedisServer, var_dir: Path):
        self.pg, self.redis, self.var_dir = pg, broker, var_dir
        self.workers: list[subprocess.Popen] = []

    def env(self, **extra) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")}
        env.update({"DATABASE_URL": self.pg.url, "REDIS_URL": self.redis.url, "SAM_VAR_DIR": str(self.var_dir),
                    "DJANGO_SETTINGS_MODULE": "sam.settings", "DEBUG": "false",
                    "SAM_TASK_VISIBILITY_TIMEOUT": "5"})
        env.update(extra)
        return env

    def manage(self, *args: str, timeout: float = 300, check: bool = True, **env) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(**env),
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} -> {out.returncode}\n{out.stdout[-2000:]}\n"
                                 f"{out.stderr[-4000:]}")
        return out

    def shell(self, code: str, timeout: float = 300, **env) -> str:
        return self.manage("shell", "-c", code, timeout=timeout, **env).stdout

    def start_worker(self, name: str) -> subprocess.Popen:
        log = (self.var_dir / f"worker-{name}.log").open("w")
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "sam", "worker", "--pool", "solo", "-l", "info", "-n", f"{name}@%h",
             "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def worker_log(self, name: str) -> str:
        path = self.var_dir / f"worker-{name}.log"
        return path.read_text() if path.exists() else ""

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)

    def stop_workers(self) -> None:
        for proc in self.workers:
            self.kill(proc)
        self.workers.clear()

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.pg.connect() as conn:
            return conn.execute(sql, params).fetchall()
