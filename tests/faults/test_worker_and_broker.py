"""A worker killed mid-import and mid-recompute, and Redis restarted with work queued.

Each uses the session's throwaway PostgreSQL and Redis (tests/faults/servers.py) and real
``celery`` worker processes that are killed with SIGKILL (no chance to clean up).
"""
from __future__ import annotations

import csv
import time

import pytest

from tests.faults.servers import wait_for

ROWS = 20_000
DEVICE_COLUMNS = "name, kind, role, status, power, processors, cores_per_processor, ram_gb"


@pytest.fixture(scope="module")
def devices_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "devices.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "kind", "role", "status", "power", "processors", "cores_per_processor", "ram_gb"])
        for i in range(ROWS):
            w.writerow([f"host-{i:06d}", "physical", "server" if i % 5 == 0 else "workstation", "active", "on",
                        2, 8, 32])
    return path


def _tenant_id(stack, slug: str) -> int:
    stack.manage("create_tenant", slug)
    return stack.query("SELECT id FROM sam_tenant WHERE slug = %s", [slug])[0][0]


def _job(stack, job_id: int) -> tuple:
    return stack.query("SELECT state, progress, error FROM sam_job WHERE id = %s", [job_id])[0]


def _devices(stack, tenant_id: int) -> list[tuple]:
    return stack.query(f"SELECT {DEVICE_COLUMNS} FROM inventory_device WHERE tenant_id = %s ORDER BY name",
                       [tenant_id])


START_IMPORT = """
from django_scopes import scope
from sam.models import Tenant
from sam.uploads import upload_store, import_job_start
t = Tenant.objects.get(slug={slug!r})
with scope(tenant=t):
    token = upload_store(tenant=t, filename="devices.csv", data=open({path!r}, "rb").read())
    job = import_job_start(tenant=t, kind="devices", token=token)
print("JOB", job.pk)
"""

SWEEP = """
import datetime as dt
from sam.jobs import job_sweep_stale
print("SWEPT", job_sweep_stale(stale_after=dt.timedelta(seconds={seconds})))
"""


def _start_import(stack, slug, path) -> int:
    out = stack.shell(START_IMPORT.format(slug=slug, path=str(path)))
    return int(out.split("JOB")[-1].split()[0])


def test_a_worker_killed_mid_import_leaves_whole_rows_a_failed_job_and_a_rerun_converges(stack, devices_csv):
    reference = _tenant_id(stack, "f-ref")
    tenant = _tenant_id(stack, "f-import")
    # The uninterrupted run, inline (no broker), is what the interrupted one must converge to.
    stack.manage("import_data", "devices", str(devices_csv), "--tenant", "f-ref", REDIS_URL="", timeout=600)
    expected = _devices(stack, reference)
    assert len(expected) == ROWS

    worker = stack.start_worker("import-1")
    job_id = _start_import(stack, "f-import", devices_csv)
    # Kill the worker while the job runs (the devices are written set-based, in one transaction).
    wait_for(lambda: _job(stack, job_id)[0] == "running", 240, "the import to start")
    stack.kill(worker)
    assert _job(stack, job_id)[0] == "running", "the import finished before the kill"
    written = _devices(stack, tenant)
    # Nothing half-applied: all of the file's rows or none, and each one whole and correct.
    assert len(written) in (0, ROWS), len(written)
    assert set(written) <= set(expected)
    # The job row still says "running" (its worker is gone) until the sweep says what happened.
    assert _job(stack, job_id)[0] == "running"
    time.sleep(2.5)
    assert "SWEPT 1" in stack.shell(SWEEP.format(seconds=2))
    state, _progress, error = _job(stack, job_id)
    assert state == "failed" and error.startswith("Interrupted: the process running this job stopped")

    # Run it again with a new worker: the same file converges to the uninterrupted result. The
    # killed worker's task comes back too (acks_late, visibility timeout 5 s) and must not run a
    # failed job a second time.
    stack.start_worker("import-2")
    rerun = _start_import(stack, "f-import", devices_csv)
    wait_for(lambda: _job(stack, rerun)[0] in ("done", "failed"), 300, "the re-run to finish")
    assert _job(stack, rerun)[0] == "done", _job(stack, rerun)
    assert _devices(stack, tenant) == expected
    time.sleep(6)  # past the visibility timeout: the redelivered original task was skipped
    assert _job(stack, job_id)[0] == "failed"
    assert _devices(stack, tenant) == expected
    stack.stop_workers()


RECOMPUTE = """
from django_scopes import scope
from sam.models import Tenant
from requirements_engine.services import recompute_request
t = Tenant.objects.get(slug={slug!r})
with scope(tenant=t):
    job = recompute_request(tenant=t, reason="fault test")
print("JOB", getattr(job, "pk", job))
"""


def _balance(stack, slug) -> str:
    return stack.manage("export_data", "balance", "--tenant", slug, "--as-of", "2026-06-30", REDIS_URL="").stdout


def test_a_worker_killed_mid_recompute_leaves_a_failed_job_and_the_next_run_gives_the_same_balance(stack):
    stack.manage("create_tenant", "f-recompute")
    stack.manage("seed_demo", "--tenant", "f-recompute", "--devices", "3000", REDIS_URL="", timeout=900)
    stack.manage("recompute", "--tenant", "f-recompute", "--as-of", "2026-06-30", REDIS_URL="", timeout=900)
    expected = _balance(stack, "f-recompute")
    assert len(expected.splitlines()) > 5
    tenant = stack.query("SELECT id FROM sam_tenant WHERE slug = 'f-recompute'")[0][0]
    worker = stack.start_worker("recompute-1")
    out = stack.shell(RECOMPUTE.format(slug="f-recompute"))
    job_id = int(out.split("JOB")[-1].split()[0])
    wait_for(lambda: _job(stack, job_id)[0] == "running", 240, "the recompute to start")
    time.sleep(0.5)
    stack.kill(worker)
    state = _job(stack, job_id)[0]
    if state == "done":
        pytest.fail("the recompute finished before the kill: seed more devices")
    time.sleep(2.5)
    assert "SWEPT 1" in stack.shell(SWEEP.format(seconds=2))
    assert _job(stack, job_id)[0] == "failed"
    # The next run (a real worker again) converges to the uninterrupted balance.
    stack.start_worker("recompute-2")
    out = stack.shell(RECOMPUTE.format(slug="f-recompute"))
    rerun = int(out.split("JOB")[-1].split()[0])
    wait_for(lambda: _job(stack, rerun)[0] in ("done", "failed"), 600, "the re-run to finish")
    assert _job(stack, rerun)[0] == "done", _job(stack, rerun)
    stack.manage("recompute", "--tenant", "f-recompute", "--as-of", "2026-06-30", REDIS_URL="", timeout=900)
    assert _balance(stack, "f-recompute") == expected
    assert stack.query("SELECT count(*) FROM sam_job WHERE tenant_id = %s AND state = 'running'", [tenant])[0][0] == 0
    stack.stop_workers()


PING = """
from django_scopes import scope
from sam.jobs import job_create
from sam.models import Tenant
from sam.tasks import ping
t = Tenant.objects.get(slug={slug!r})
ids = []
with scope(tenant=t):
    for _ in range({n}):
        job = job_create(tenant=t, kind="ping")
        ping.delay(t.pk, job.pk)
        ids.append(job.pk)
print("JOBS", ",".join(map(str, ids)))
"""


def test_work_queued_while_redis_restarts_is_not_lost(stack):
    tenant = _tenant_id(stack, "f-redis")
    stack.stop_workers()  # nobody consumes: the tasks wait in Redis
    out = stack.shell(PING.format(slug="f-redis", n=5))
    ids = [int(x) for x in out.split("JOBS")[-1].split()[0].split(",")]
    assert stack.query("SELECT count(*) FROM sam_job WHERE tenant_id = %s AND state = 'queued'", [tenant])[0][0] == 5
    stack.redis.restart()
    stack.start_worker("after-redis")
    wait_for(lambda: stack.query("SELECT count(*) FROM sam_job WHERE id = ANY(%s) AND state = 'done'", [ids]
                                 )[0][0] == 5, 120, "the five queued tasks to run after the restart")
    stack.stop_workers()
