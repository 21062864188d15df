#!/usr/bin/env python
"""Benchmark of receiving inspection: stage, validate and transfer N purchase lines, then time the queue.

    createdb -h 127.0.0.1 -U postgres recv
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recv .venv/bin/python benchmarks/receiving.py --lines 100000

Prints one JSON object: lines, seconds (stage + validate + transfer), transferred, waiting,
lines_per_second, cpu_seconds (this process's CPU time for the run: comparable on a busy machine),
queue_page_ms (the clearing queue's first page, median of 5) and queue_summary_ms (its counters,
loaded after the list), the load average, and, unless --no-full-queue, the same two timings for a
second tenant where all N lines wait. Each run uses fresh tenants, so it can be repeated on one database.

    ... benchmarks/receiving.py --workspace --lines 100000 --tenants 50

times the clearing workspace instead: N waiting lines spread over T tenants, one clerk with the
clearing role in all of them; prints workspace_page_ms (the first page, median of 5),
workspace_summary_ms (its figures, loaded after the list) and the same for one tenant filtered.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django_scopes import scope  # noqa: E402

SKUS = 300
COST_CENTERS = 40
PERSONS = 800


def master_catalog(run: str) -> list[str]:
    """A master catalog of SKUS part numbers across a few publishers (created once per run prefix)."""
    from catalog.models import LicenseModel, Product, Publisher, Sku

    LicenseModel.objects.get_or_create(name="Bench Per Device")
    parts = []
    publishers = [Publisher.objects.get_or_create(name=f"Bench Publisher {i}")[0] for i in range(5)]
    products = []
    for i in range(SKUS):
        products.append(Product(publisher=publishers[i % 5], title=f"Bench {run} {i}", version="1", edition=""))
    Product.objects.bulk_create(products, batch_size=500)
    created = Product.objects.filter(title__startswith=f"Bench {run} ").order_by("id")
    skus = []
    for i, product in enumerate(created):
        kind = "subscription" if i % 10 == 0 else "full"
        part = f"B{run}-{i:04d}"
        parts.append(part)
        skus.append(Sku(part_number=part, product=product, license_type=kind, license_model="Bench Per Device",
                        units=Decimal(2 if i % 7 == 0 else 1), term_months=12 if kind == "subscription" else None))
    Sku.objects.bulk_create(skus, batch_size=500)
    return parts


def organisation(tenant) -> None:
    from entitlements.models import Contract
    from inventory.models import CostCenter, Person

    CostCenter.objects.bulk_create([CostCenter(tenant=tenant, code=f"CC{i:03d}") for i in range(COST_CENTERS)])
    Person.objects.bulk_create([Person(tenant=tenant, username=f"user{i}", email=f"user{i}@bench.test",
                                       status="inactive" if i % 50 == 0 else "active") for i in range(PERSONS)])
    Contract.objects.bulk_create([Contract(tenant=tenant, number=f"K-{i}") for i in range(10)])


def rows(n: int, parts: list[str], faulty_share: float, seed: int = 7) -> list[tuple[int, dict[str, str]]]:
    """Realistic lines: most clean, the rest with the usual faults (reseller part numbers, typos)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        values = {
            "sku": parts[i % len(parts)], "description": f"Bench line {i}", "publisher": "",
            "quantity": str(rnd.randint(1, 50)), "unit_price": f"{rnd.randint(5, 5000)}.{rnd.randint(0, 99):02d}",
            "currency": "EUR", "po_number": f"PO-{i // 20}", "po_line": str(i % 20 + 1),
            "order_date": f"2026-{rnd.randint(1, 9):02d}-{rnd.randint(1, 28):02d}",
            "contract_number": f"K-{i % 10}", "cost_center": f"CC{i % COST_CENTERS:03d}",
            "requester_email": f"user{rnd.randint(1, PERSONS - 1)}@bench.test", "supplier": f"Reseller {i % 7}",
        }
        if rnd.random() < faulty_share:
            fault = rnd.randint(0, 3)
            if fault == 0:
                values["sku"] = f"RS-{rnd.randint(0, 40)}"
            elif fault == 1:
                values["cost_center"] = "CC999"
            elif fault == 2:
                values["requester_email"] = values["requester_email"].replace("@", "(at)")
            else:
                values["quantity"] = "0"
        if values["requester_email"].startswith("user0@") or values["requester_email"].startswith("user50@"):
            values["requester_email"] = "user1@bench.test"
        out.append((i + 2, values))
    return out


def analyze() -> None:
    """What autovacuum does soon after a large insert: fresh statistics and visibility map."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE receiving_purchaseline")


def queue_ms(client: Client, slug: str, page: str = "") -> float:
    client.get(f"/t/{slug}/receiving/{page}")
    times = []
    for _ in range(5):
        start = time.perf_counter()
        response = client.get(f"/t/{slug}/receiving/{page}")
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return round(statistics.median(times), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--faulty", type=float, default=0.1, help="share of faulty lines (default 0.1)")
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--no-full-queue", action="store_true", help="skip the all-waiting queue measurement")
    parser.add_argument("--workspace", action="store_true",
                        help="time the cross-tenant clearing workspace with N waiting lines over --tenants tenants")
    parser.add_argument("--tenants", type=int, default=50)
    args = parser.parse_args()
    if args.workspace:
        return workspace(args)

    call_command("migrate", verbosity=0)
    from receiving.services import receiving_receive
    from sam.models import Role
    from sam.services import membership_grant, tenant_create

    run = f"{int(time.time()) % 10_000_000}"
    parts = master_catalog(run)
    tenant, _ = tenant_create(slug=f"bench-recv-{run}")
    user, _ = get_user_model().objects.get_or_create(username=f"bench-{run}")
    membership_grant(tenant=tenant, user=user, role=Role.CLEARING)
    with scope(tenant=tenant):
        organisation(tenant)
    lines = rows(args.lines, parts, args.faulty)

    # Engine recomputes are outside this benchmark (import_data requests one after the transfer).
    start, cpu_start = time.perf_counter(), time.process_time()
    with scope(tenant=tenant):
        result = receiving_receive(tenant=tenant, actor="benchmark", rows=lines, source="command",
                                   filename="bench.csv", chunk_size=args.chunk, recompute=False)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start

    analyze()
    client = Client()
    client.force_login(user)
    out = {
        "lines": args.lines, "seconds": round(seconds, 2), "transferred": result.transferred,
        "waiting": result.waiting, "lines_per_second": round(args.lines / seconds) if seconds else None,
        "cpu_seconds": round(cpu_seconds, 2), "queue_page_ms": queue_ms(client, tenant.slug),
        "queue_summary_ms": queue_ms(client, tenant.slug, "summary/"), "database": connection.vendor,
        "load_average": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(out), file=sys.stderr, flush=True)
    if not args.no_full_queue:
        full, _ = tenant_create(slug=f"bench-wait-{run}")
        membership_grant(tenant=full, user=user, role=Role.CLEARING)
        waiting_rows = [(n, {**v, "sku": f"UNKNOWN-{n % 500}"}) for n, v in lines]
        with scope(tenant=full):
            staged = receiving_receive(tenant=full, actor="benchmark", rows=waiting_rows, source="command",
                                       filename="bench-waiting.csv", chunk_size=args.chunk, recompute=False)
        analyze()
        out["queue_waiting_lines"] = staged.waiting
        out["queue_page_ms_full"] = queue_ms(client, full.slug)
        out["queue_summary_ms_full"] = queue_ms(client, full.slug, "summary/")
    print(json.dumps(out))
    return 0


def workspace(args) -> int:
    """N waiting lines over T tenants, a clerk in all of them; time the workspace's first page."""
    call_command("migrate", verbosity=0)
    from receiving.services import receiving_receive
    from sam.models import Role
    from sam.services import membership_grant, tenant_create

    run = f"{int(time.time()) % 10_000_000}"
    parts = master_catalog(run)
    user, _ = get_user_model().objects.get_or_create(username=f"bench-clerk-{run}")
    lines = rows(args.lines, parts, 0.0)
    per = max(1, args.lines // args.tenants)
    start = time.perf_counter()
    tenants = []
    for t in range(args.tenants):
        tenant, _ = tenant_create(slug=f"bench-ws-{run}-{t}")
        membership_grant(tenant=tenant, user=user, role=Role.CLEARING)
        tenants.append(tenant)
        # Unknown part numbers: every line waits (in a tenant with no organisation data at all).
        chunk = [(n, {**v, "sku": f"UNKNOWN-{n % 500}"}) for n, v in lines[t * per:(t + 1) * per]]
        with scope(tenant=tenant):
            receiving_receive(tenant=tenant, actor="benchmark", rows=chunk, source="command",
                              filename="bench-waiting.csv", chunk_size=args.chunk, recompute=False)
    staged_seconds = time.perf_counter() - start
    analyze()
    client = Client()
    client.force_login(user)

    cpu: dict[str, float] = {}

    def median_ms(url: str) -> float:
        """Median wall time of 5 requests; the median CPU time of this process goes into ``cpu``."""
        client.get(url)
        times, cpu_times = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            cpu_times.append((time.process_time() - c0) * 1000)
            assert response.status_code == 200, response.status_code
        cpu[url] = round(statistics.median(cpu_times), 1)
        return round(statistics.median(times), 1)

    out = {"workspace_lines": per * args.tenants, "tenants": args.tenants, "staged_seconds": round(staged_seconds, 1),
           "workspace_page_ms": median_ms("/receiving/workspace/"),
           "workspace_page_cpu_ms": cpu["/receiving/workspace/"],
           "workspace_summary_ms": median_ms("/receiving/workspace/summary/"),
           "workspace_one_tenant_ms": median_ms(f"/receiving/workspace/?tenant={tenants[-1].slug}"),
           "database": connection.vendor, "load_average": round(os.getloadavg()[0], 1)}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
