"""End-to-end latency: an import lands → the recompute task runs on a real Celery worker → the balance moves.

Uses PostgreSQL and Redis for real: makes a fresh database, migrates it, starts a worker as a
subprocess (``.venv/bin/celery -A sam worker -l warning --pool solo``), then

1. *procurement change*: imports one published license (``entitlements`` kind) for a product that
   has a confirmed requirement and measures until that position's stored balance row shows it
   covered;
2. *installation change*: imports an installation of a recognised product on a new device and
   measures until the position's required units grow (needs the engine's foundations; reported as
   null if the engine does not produce the requirement within the timeout).

Prints one JSON object with the seconds of each step (the median of ``--runs`` repetitions for
the procurement change) and drops the database afterwards.

    .venv/bin/python benchmarks/latency.py [--runs 5] [--database-url postgres://postgres@127.0.0.1:5432/x]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--timeout", type=float, default=60)
    return parser.parse_args()


def wait_for(predicate, timeout: float, interval: float = 0.02):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def main() -> int:
    args = parse_args()
    name = f"sam_latency_{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=f"{args.server}/{name}", REDIS_URL=args.redis_url,
               DJANGO_SETTINGS_MODULE="sam.settings")
    subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    worker = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")})
        import django

        django.setup()
        from django.conf import settings

        assert not settings.CELERY_TASK_ALWAYS_EAGER, "REDIS_URL must configure a real broker"
        worker = subprocess.Popen([str(ROOT / ".venv/bin/celery"), "-A", "sam", "worker", "-l", "warning",
                                   "--pool", "solo", "--without-gossip", "--without-mingle", "-n",
                                   f"latency-{os.getpid()}@%h"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(ROOT / "var" / "latency-worker.log", "w"))
        from sam.celery import app

        ready = wait_for(lambda: app.control.ping(timeout=0.5), timeout=60, interval=0.2)
        if not ready:
            raise SystemExit("the Celery worker did not answer within 60 s")
        result = measure(args)
        result.update({"database": "postgresql", "broker": args.redis_url, "worker": "celery --pool solo"})
        print(json.dumps(result))
        return 0
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        from django.db import connections

        connections.close_all()
        subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)


def measure(args) -> dict:
    from django_scopes import scope

    from catalog.models import FingerprintRule, LicenseModel, Product, ProductTerms, Publisher
    from inventory.models import Device
    from requirements_engine.models import BalanceRow, Requirement
    from requirements_engine.services import recompute_now
    from sam.importing import import_file
    from sam.models import Job
    from sam.services import tenant_create

    today = dt.date.today()
    tenant, _ = tenant_create(slug="latency", name="Latency")
    LicenseModel.objects.get_or_create(name="Per Device", defaults={"metric": "device", "assignment": "device"})
    publisher, _ = Publisher.objects.get_or_create(name="Contoso")
    steps = []
    with scope(tenant=tenant):
        for i in range(args.runs):
            product, _ = Product.objects.get_or_create(publisher=publisher, title=f"Draw{i}", version="2024",
                                                       edition="Pro")
            ProductTerms.objects.get_or_create(product=product, defaults={"default_license_model": "Per Device"})
            device = Device.objects.create(tenant=tenant, name=f"PC-{i}")
            Requirement.objects.create(tenant=tenant, consumer_type="device", device=device, product=product,
                                       license_model="Per Device", quantity=1, confirmation="confirmed", manual=True)
        recompute_now(tenant=tenant, as_of=today)  # the baseline day, inline

        def row(product):
            return BalanceRow.objects.filter(as_of=today, product=product, repository_id_ref__isnull=True).first()

        for i in range(args.runs):
            product = Product.objects.get(publisher=publisher, title=f"Draw{i}")
            csv = ("publisher,product,version,edition,type,license_model,quantity,status,po_number\n"
                   f"Contoso,Draw{i},2024,Pro,license,Per Device,3,published,PO-{i}\n").encode()
            started = time.perf_counter()
            import_file(kind="entitlements", source=csv, tenant=tenant, as_of=today, actor="latency",
                        filename="entitlements.csv")
            imported = time.perf_counter()
            got = wait_for(lambda product=product: (r := row(product)) is not None and r.covered == 1
                           and r.purchased == 3, timeout=args.timeout)
            done = time.perf_counter()
            job = (Job.objects.filter(kind="recompute", finished_at__isnull=False).order_by("-finished_at").first())
            steps.append({"import_s": round(imported - started, 3), "to_balance_s": round(done - started, 3) if got
                          else None, "job_run_s": job.duration_s if job else None})

        # Installation change: a recognised installation on a new device must raise the required units.
        product = Product.objects.get(publisher=publisher, title="Draw0")
        FingerprintRule.objects.get_or_create(publisher="Contoso*", name="Contoso Draw0 2024*", version="*",
                                              defaults={"product": product})
        Device.objects.create(tenant=tenant, name="PC-NEW")
        before = row(product).required
        lines = ["device,publisher,name,version,last_seen"]
        lines += [f"PC-NEW,Contoso Ltd,Contoso Draw0 2024 Pro,24.0,{today.isoformat()}"]
        started = time.perf_counter()
        import_file(kind="installations", source=("\n".join(lines) + "\n").encode(), tenant=tenant, as_of=today,
                    actor="latency", filename="installations.csv")
        got = wait_for(lambda: (r := row(product)) is not None and (r.required > before or r.unconfirmed > 0),
                       timeout=args.timeout)
        installation_s = round(time.perf_counter() - started, 3) if got else None

    measured = [s["to_balance_s"] for s in steps if s["to_balance_s"] is not None]
    return {
        "procurement_to_balance_seconds": round(statistics.median(measured), 3) if measured else None,
        "procurement_to_balance_max_seconds": max(measured) if measured else None,
        "installation_to_balance_seconds": installation_s,
        "runs": steps,
    }


if __name__ == "__main__":
    sys.exit(main())
