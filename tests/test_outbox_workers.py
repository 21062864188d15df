"""The outbox with real Celery workers on a Redis server of the test's own.

(a) A change recorded while the broker is down is not lost: the next drain applies it.
(b) Two worker processes never run one tenant at once (PostgreSQL advisory lock), while two
    tenants do run in parallel.

Each test starts its own ``redis-server`` on a free loopback port, so stopping it never touches the
shared server on 6379.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_scopes import scope

from requirements_engine.services import RECOMPUTE
from requirements_engine.tasks import drain_pending_changes, recompute_task
from sam.changes import change_record
from sam.jobs import job_create
from sam.models import ChangeEvent, ChangeKind, ChangeState, Job, JobState
from tests.conftest import require_server
from tests.factories import TenantFactory
from tests.test_worker import _database_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]
REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OwnRedis:
    """A throwaway redis-server on a free loopback port that the test may stop and start."""

    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("own redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture
def own_redis(tmp_path):
    require_server("redis-server", REDIS_SERVER is not None, "no redis-server binary")
    server = OwnRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project_broker(own_redis, settings):
    """The project's Celery app sends to the test's own Redis (not inline) for the test."""
    from sam.celery import app

    saved = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url=own_redis.url, task_always_eager=False)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield app
    finally:
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.update(**saved)


class Workers:
    """Real ``celery worker`` processes on the test's broker and database."""

    def __init__(self, broker_url: str, tmp_path: Path):
        self.broker_url, self.tmp_path = broker_url, tmp_path
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def start(self, count: int) -> None:
        env = {**os.environ, "CELERY_BROKER_URL": self.broker_url, "REDIS_URL": "",
               "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "sam.settings"}
        env.pop("CELERY_RESULT_BACKEND", None)
        celery = Path(sys.executable).with_name("celery")
        for n in range(count):
            log_path = self.tmp_path / f"worker{n}.log"
            log = log_path.open("w")
            process = subprocess.Popen(
                [str(celery), "-A", "sam", "worker", "--pool", "solo", "-l", "info", "-n", f"w{n}@%h",
                 "--without-heartbeat", "--without-mingle", "--without-gossip"],
                cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            self.processes.append((process, log_path))

    def logs(self) -> str:
        return "\n".join(f"--- {p}\n{p.read_text()[-4000:]}" for _proc, p in self.processes)

    def stop(self) -> None:
        for process, _log in self.processes:
            process.terminate()
        for process, _log in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(own_redis, tmp_path):
    pool = Workers(own_redis.url, tmp_path)
    try:
        yield pool
    finally:
        pool.stop()


def _wait(condition, *, workers: Workers, timeout: float = 180, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for process, _log in workers.processes:
            assert process.poll() is None, f"a worker exited early:\n{workers.logs()}"
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}:\n{workers.logs()}")


def test_a_change_recorded_while_the_broker_is_down_is_applied_by_the_next_drain(own_redis, project_broker,
                                                                                workers):
    from tests.requirements_engine.factories import DeviceFactory

    tenant = TenantFactory(slug="outage")
    with scope(tenant=tenant):
        device = DeviceFactory(tenant=tenant, name="PC-1")
        # The broker is down (not started yet): the change commits, its drain cannot be queued.
        with transaction.atomic():
            change_record(tenant=tenant, kind=ChangeKind.DEVICES, ids=[device.pk], reason="edited while down")
        event = ChangeEvent.objects.get()
        assert event.state == ChangeState.PENDING
        failed = Job.objects.get(kind=RECOMPUTE)
        assert failed.state == JobState.FAILED and "broker could not be reached" in failed.error

    own_redis.start()
    workers.start(1)
    assert drain_pending_changes() == 1  # the periodic drain (beat) finds the pending change

    def applied() -> bool:
        with scope(tenant=tenant):
            return ChangeEvent.objects.filter(state=ChangeState.DONE).exists()

    _wait(applied, workers=workers, what="the pending change to be applied")
    with scope(tenant=tenant):
        job = Job.objects.filter(kind=RECOMPUTE, state=JobState.DONE).get()
        assert job.params["changed"] == {"devices": [device.pk]}
        assert "edited while down" in job.params["reasons"]
        assert ChangeEvent.objects.get().job_id == job.pk


def _interval(job: Job) -> tuple[dt.datetime, dt.datetime]:
    run = job.result["run"]
    return dt.datetime.fromisoformat(run["from"]), dt.datetime.fromisoformat(run["to"])


def test_two_workers_never_run_one_tenant_at_once_but_run_two_tenants_in_parallel(own_redis, project_broker,
                                                                                  workers):
    if connection.vendor != "postgresql":
        pytest.skip("the per-tenant advisory lock is PostgreSQL's; SQLite runs inline and serialises writers")
    sys.path.insert(0, str(Path(settings.BASE_DIR)))
    from benchmarks.estate import generate

    first, second = TenantFactory(slug="lock-a"), TenantFactory(slug="lock-b")
    for tenant in (first, second):
        generate(tenant=tenant, devices=int(os.environ.get("SAM_TEST_LOCK_DEVICES", "300")))
    own_redis.start()
    workers.start(2)

    def jobs(tenant, n: int) -> list[Job]:
        with scope(tenant=tenant):
            made = [job_create(tenant=tenant, kind=RECOMPUTE, params={"full": True, "as_of": "2026-06-15"})
                    for _ in range(n)]
        return made

    def finished(made: list[Job]):
        def check() -> bool:
            return all(Job.objects.filter(pk=j.pk, state__in=[JobState.DONE, JobState.FAILED]).exists()
                       for j in made)
        return check

    def reload(made: list[Job]) -> list[Job]:
        from django_scopes import scopes_disabled

        with scopes_disabled():
            out = [Job.objects.get(pk=j.pk) for j in made]
        assert all(j.state == JobState.DONE for j in out), [(j.pk, j.state, j.error) for j in out]
        return out

    # Phase 1: two runs of one tenant, one per worker, sent together.
    a1, a2 = jobs(first, 2)
    for job in (a1, a2):
        recompute_task.delay(first.pk, job.pk)
    from django_scopes import scopes_disabled

    with scopes_disabled():
        _wait(finished([a1, a2]), workers=workers, what="the two runs of one tenant")
    a1, a2 = sorted(reload([a1, a2]), key=lambda j: _interval(j)[0])
    (a1_from, a1_to), (a2_from, a2_to) = _interval(a1), _interval(a2)
    # Both workers had claimed a job before the first run ended (the second waited on the lock) …
    assert a2.started_at < a1_to, "the two runs were not in two workers at once; the test proves nothing"
    # … and still the runs of the tenant did not overlap.
    assert a2_from >= a1_to, f"runs of one tenant overlapped: {a1_from}–{a1_to} and {a2_from}–{a2_to}"

    # Phase 2: one run of each tenant, sent together: they run in parallel.
    (a3,), (b1,) = jobs(first, 1), jobs(second, 1)
    recompute_task.delay(first.pk, a3.pk)
    recompute_task.delay(second.pk, b1.pk)
    with scopes_disabled():
        _wait(finished([a3, b1]), workers=workers, what="one run of each tenant")
    a3, b1 = reload([a3, b1])
    (a3_from, a3_to), (b1_from, b1_to) = _interval(a3), _interval(b1)
    assert a3_from < b1_to and b1_from < a3_to, (
        f"two tenants did not run in parallel: {a3_from}–{a3_to} and {b1_from}–{b1_to}")
