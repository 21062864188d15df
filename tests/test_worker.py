"""A real Celery worker process consumes a real task over Redis and writes to the test database."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope

from sam.jobs import job_create
from sam.models import Job, JobState
from tests.conftest import require_server
from tests.factories import TenantFactory

REDIS_URL = os.environ.get("SAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _redis_ok() -> tuple[bool, str]:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not available"
        return False, f"{REDIS_URL}: {exc}"
    return True, ""


def _database_url() -> str:
    """The URL of the database this test process uses (the per-xdist-worker test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        name = str(s["NAME"])
        assert name != ":memory:" and "mode=memory" not in name, "the worker test needs a file-based SQLite test DB"
        return f"sqlite:///{Path(name).resolve()}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


@pytest.fixture
def broker_app():
    """A Celery app of its own for the test broker: the project's app (and the rest of the suite)
    keeps running tasks inline."""
    from celery import Celery

    app = Celery("sam-test-sender", broker=REDIS_URL, set_as_current=False)
    app.conf.update(task_always_eager=False, broker_connection_retry_on_startup=True)
    try:
        yield app
    finally:
        app.close()


def test_a_worker_process_runs_a_task_sent_over_redis(broker_app, tmp_path):
    ok, reason = _redis_ok()
    require_server("Redis", ok, reason)
    import redis

    queue = f"sam-test-{os.getpid()}-{time.time_ns()}"  # a private queue: parallel runs never cross
    tenant = TenantFactory(slug="worker-test")
    with scope(tenant=tenant):
        job = job_create(tenant=tenant, kind="ping")

    env = {**os.environ, "CELERY_BROKER_URL": REDIS_URL, "REDIS_URL": REDIS_URL, "DATABASE_URL": _database_url(),
           "DJANGO_SETTINGS_MODULE": "sam.settings"}
    env.pop("CELERY_RESULT_BACKEND", None)
    celery = Path(sys.executable).with_name("celery")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [str(celery), "-A", "sam", "worker", "--pool", "solo", "-l", "warning", "-Q", queue,
         "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        broker_app.send_task("sam.tasks.ping", args=[tenant.pk, job.pk], queue=queue)
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            with scope(tenant=tenant):
                state = Job.objects.values_list("state", flat=True).get(pk=job.pk)
            if state == JobState.DONE or worker.poll() is not None:
                break
            time.sleep(0.25)
        log.flush()
        output = (tmp_path / "worker.log").read_text()
        assert worker.poll() is None, f"the worker exited early:\n{output}"
        assert state == JobState.DONE, f"the worker did not finish the job in 60 s:\n{output}"
        with scope(tenant=tenant):
            finished = Job.objects.get(pk=job.pk)
        assert finished.result == {"pong": True} and finished.finished_at is not None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        redis.Redis.from_url(REDIS_URL).delete(queue)
