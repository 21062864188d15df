"""Benchmark of scale-out: many tenants recomputed by 1 and by 2 real Celery workers.

Usage (PostgreSQL and Redis; a database of its own, it is truncated)::

    createdb -h 127.0.0.1 -U postgres bench_tenants
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_tenants \\
      .venv/bin/python benchmarks/tenants.py --tenants 50 --devices 2000 --broker redis://127.0.0.1:6379/4

Generates ``--tenants`` estates of ``--devices`` devices each (``benchmarks/estate.py``), then for
each worker count in ``--workers`` (default ``1,2``) starts that many ``celery worker`` processes
(solo pool, one task at a time each) on a private queue, empties the engine's tables, queues one
full recompute job per tenant through the real task (``recompute_task``: run lock, outbox claim,
engine run) and measures the wall time until every job is done. Prints one JSON object:
``tenants_per_minute`` per worker count, the mean run time of one tenant and the speed-up.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--devices", type=int, default=2000, help="devices per tenant")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    parser.add_argument("--broker", default=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--reuse", action="store_true", help="keep the tenants a previous run generated")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for one worker count")
    args = parser.parse_args()

    # The benchmark process sends over the real broker; its workers get the same settings.
    os.environ["CELERY_BROKER_URL"] = args.broker
    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope, scopes_disabled

    from benchmarks.estate import generate
    from requirements_engine.services import RECOMPUTE
    from requirements_engine.tasks import recompute_task
    from sam.celery import app
    from sam.jobs import job_create
    from sam.models import Job, JobState, Tenant
    from sam.services import tenant_create

    if connection.vendor != "postgresql":
        raise SystemExit("benchmarks/tenants.py needs PostgreSQL (DATABASE_URL=postgres://...)")
    call_command("migrate", verbosity=0)
    prefix = f"scale-{args.devices}-"
    out: dict = {"database": connection.vendor, "tenants": args.tenants, "devices_per_tenant": args.devices,
                 "devices_total": args.tenants * args.devices, "cpu_count": os.cpu_count()}

    started = time.perf_counter()
    existing = {t.slug: t for t in Tenant.objects.filter(slug__startswith=prefix)}
    if existing and not args.reuse:
        raise SystemExit(f"{len(existing)} tenants of an earlier run are here: pass --reuse or use a fresh database")
    tenants = []
    for n in range(args.tenants):
        slug = f"{prefix}{n:03d}"
        if slug in existing:
            tenants.append(existing[slug])
            continue
        tenant, _created = tenant_create(slug=slug, name=f"Scale {n}")
        generate(tenant=tenant, devices=args.devices, seed=n)
        tenants.append(tenant)
    out["generate_s"] = round(time.perf_counter() - started, 1)

    engine_tables = [m._meta.db_table for m in apps.get_app_config("requirements_engine").get_models()]
    queue = f"bench-tenants-{os.getpid()}"
    env = {**os.environ, "CELERY_BROKER_URL": args.broker, "DJANGO_SETTINGS_MODULE": "sam.settings"}
    env.pop("CELERY_RESULT_BACKEND", None)
    celery = Path(sys.executable).with_name("celery")
    runs = []
    for count in [int(c) for c in args.workers.split(",") if c.strip()]:
        with connection.cursor() as cursor:  # every configuration recomputes from empty tables
            cursor.execute(f"TRUNCATE {', '.join(engine_tables)} CASCADE")
        workers = [subprocess.Popen([str(celery), "-A", "sam", "worker", "--pool", "solo", "-l", "warning",
                                     "-Q", queue, "-n", f"bench{n}-{os.getpid()}@%h", "--without-heartbeat",
                                     "--without-mingle", "--without-gossip"],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for n in range(count)]
        try:
            deadline = time.monotonic() + 120
            while len(app.control.ping(timeout=1.0) or []) < count:
                if time.monotonic() > deadline:
                    raise SystemExit("the workers did not come up in 120 s")
            jobs = []
            for tenant in tenants:
                with scope(tenant=tenant):
                    jobs.append(job_create(tenant=tenant, kind=RECOMPUTE,
                                           params={"full": True, "reasons": ["benchmarks/tenants.py"]}))
            started = time.perf_counter()
            for tenant, job in zip(tenants, jobs, strict=True):
                recompute_task.apply_async(args=[tenant.pk, job.pk], queue=queue)
            ids = [j.pk for j in jobs]
            with scopes_disabled():
                while Job.objects.filter(pk__in=ids, state__in=[JobState.QUEUED, JobState.RUNNING]).exists():
                    if time.perf_counter() - started > args.timeout:
                        raise SystemExit(f"{count} worker(s) did not finish in {args.timeout} s")
                    time.sleep(0.5)
                wall = time.perf_counter() - started
                done = list(Job.objects.filter(pk__in=ids))
            failed = [j.error[:200] for j in done if j.state != JobState.DONE]
            durations = [j.duration_s for j in done if j.duration_s is not None]
            runs.append({
                "workers": count, "wall_s": round(wall, 1),
                "tenants_per_minute": round(len(tenants) / wall * 60, 2),
                "mean_tenant_run_s": round(sum(durations) / len(durations), 2) if durations else None,
                "requirements": sum(int((j.result or {}).get("requirements") or 0) for j in done),
                "failed": failed,
            })
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    worker.kill()
    out["runs"] = runs
    if len(runs) >= 2 and runs[0]["tenants_per_minute"]:
        out["speedup"] = round(runs[-1]["tenants_per_minute"] / runs[0]["tenants_per_minute"], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
