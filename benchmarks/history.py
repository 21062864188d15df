"""Cost of the requirement history (``requirements_engine.history.history_record``) at scale.

Makes a fresh PostgreSQL database, migrates it, writes ``--devices`` devices with ``--per-device``
requirements each (one foundation per requirement) set-based, then times:

1. the first record (every requirement opens a version);
2. a record with nothing changed (the daily run on a quiet estate: writes nothing);
3. a record after ``--changed`` percent of the requirements changed quantity.

Prints one JSON object (seconds and rows) and drops the database afterwards.

    .venv/bin/python benchmarks/history.py [--devices 20000] [--per-device 5] [--changed 1]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=20000)
    parser.add_argument("--per-device", type=int, default=5)
    parser.add_argument("--changed", type=float, default=1.0, help="percent of requirements changed before run 3")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    name = f"sam_history_{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=f"{args.server}/{name}", DJANGO_SETTINGS_MODULE="sam.settings")
    env.pop("REDIS_URL", None)
    subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
        import django

        django.setup()
        print(json.dumps(measure(args)))
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)


def measure(args) -> dict:
    from django.db import connection
    from django_scopes import scope

    from catalog.models import Product, Publisher
    from inventory.models import Device
    from requirements_engine.history import history_record
    from requirements_engine.models import Foundation, Requirement, RequirementHistory
    from sam.services import tenant_create

    tenant, _ = tenant_create(slug="history", name="History")
    publisher = Publisher.objects.create(name="Contoso")
    products = Product.objects.bulk_create([Product(publisher=publisher, title=f"App {i}", version="1")
                                            for i in range(args.per_device)])
    day = dt.date(2026, 6, 1)
    with scope(tenant=tenant):
        devices = Device.objects.bulk_create([Device(tenant=tenant, name=f"PC-{i:06d}") for i in range(args.devices)],
                                             batch_size=5000)
        reqs = Requirement.objects.bulk_create([
            Requirement(tenant=tenant, consumer_type="device", consumer_key=f"d:{d.pk}", device=d, product=p,
                        license_model="Per Device", quantity=1, confirmation="confirmed",
                        expression_values={"cores": 4}) for d in devices for p in products], batch_size=5000)
        Foundation.objects.bulk_create([
            Foundation(tenant=tenant, requirement=r, kind="installation", source=f"{r.consumer_key}: app",
                       source_key=f"i:{r.pk}") for r in reqs], batch_size=5000)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        timings = {}
        for label, as_of in (("first_record", day), ("nothing_changed", day + dt.timedelta(days=1))):
            started = time.perf_counter()
            got = history_record(tenant=tenant, as_of=as_of)
            timings[label] = {"seconds": round(time.perf_counter() - started, 3), **got}
        step = max(int(100 / args.changed), 1) if args.changed else 0
        changed_ids = [r.pk for r in reqs[::step]] if step else []
        Requirement.objects.filter(pk__in=changed_ids).update(quantity=2)
        started = time.perf_counter()
        got = history_record(tenant=tenant, as_of=day + dt.timedelta(days=2))
        timings["after_changes"] = {"seconds": round(time.perf_counter() - started, 3), "changed": len(changed_ids),
                                    **got}
        rows = RequirementHistory.objects.count()
    return {"requirements": len(reqs), "devices": args.devices, "history_rows": rows, **timings,
            "database": "postgresql"}


if __name__ == "__main__":
    raise SystemExit(main())
