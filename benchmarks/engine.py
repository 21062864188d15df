"""Benchmark of the requirement engine: generate an estate, full recompute, delta, read baseline.

Usage (PostgreSQL)::

    createdb -h 127.0.0.1 -U postgres bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/engine.py --devices 2000

Prints one JSON object: devices, installations, generate_s, full_recompute_s (requirements and
balance unless --no-balance, from an empty requirement table), noop_requirements_s (a second full
run of the requirement stages that finds nothing to write), incremental_recompute_s (1,000 changed installations, delta run),
edit_to_balance_s (a draft license of the position with about 1,000 requirements is published and
``recompute_tenant(changed={"entitlements": [id]})`` runs until the new balance row is stored),
read_baseline_s (the input tables read once: ``COPY (SELECT ...) TO STDOUT`` on PostgreSQL, a
plain full read on SQLite), requirements, peak_rss_mb (of the engine process; the estate is generated
in a child process).

``--estate-db NAME`` (PostgreSQL) generates the estate once into the database ``NAME_<devices>`` and
starts every run from a copy of it (``CREATE DATABASE <DATABASE_URL's db> TEMPLATE ...``): at
100,000 devices the generation takes ~20 minutes on this machine, the copy seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")

INPUT_QUERIES = [
    "SELECT id, name, kind, role, status, power, primary_user_id, processors, cores_per_processor, threads, vcpus, "
    "processor_model, ram_gb FROM inventory_device WHERE tenant_id = {t}",
    "SELECT id, username, status FROM inventory_person WHERE tenant_id = {t}",
    "SELECT vm_id, host_id, valid_from, valid_to FROM inventory_vmplacement WHERE tenant_id = {t}",
    "SELECT i.device_id, i.fingerprint_id FROM inventory_installation i JOIN inventory_fingerprint f "
    "ON f.id = i.fingerprint_id WHERE i.tenant_id = {t} AND f.classification = 'product' AND f.product_id IS NOT NULL",
    "SELECT group_id, person_id, device_id FROM inventory_groupmembership WHERE tenant_id = {t}",
]


def read_baseline(tenant_id: int) -> float:
    """The time to read the engine's input tables once, without any processing."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cur:
        for sql in INPUT_QUERIES:
            query = sql.format(t=int(tenant_id))
            if connection.vendor == "postgresql":
                raw = cur.cursor if hasattr(cur, "cursor") else cur
                with raw.copy(f"COPY ({query}) TO STDOUT") as copy:
                    for _block in copy:
                        pass
            else:
                cur.execute(query)
                while cur.fetchmany(20000):
                    pass
    return time.perf_counter() - started


def edit_to_balance(*, tenant, as_of, requirements: int) -> dict:
    """Publish one license of the position with about ``requirements`` requirements and run what the
    change asks for (``changed={"entitlements": [id]}``) until its new balance row is stored."""
    from decimal import Decimal

    from django.db.models import Count
    from django.utils import timezone

    from entitlements.models import Entitlement
    from entitlements.services import repository_default
    from requirements_engine.engine import recompute_tenant
    from requirements_engine.models import BalanceRow, Requirement

    counts = (Requirement.objects.filter(effective=True, is_secondary=False, error="")
              .values_list("product_id", "license_model").annotate(n=Count("id")))
    product_id, model, n = min(counts, key=lambda row: (abs(row[2] - requirements), row[0]))
    before = BalanceRow.objects.get(as_of=as_of, repository_id_ref__isnull=True, product_id=product_id,
                                    license_model=model)
    draft = Entitlement.objects.create(tenant=tenant, repository=repository_default(tenant=tenant),
                                       product_id=product_id, license_model=model, type="license", status="draft",
                                       state="draft", quantity=Decimal(7), units=Decimal(1), errors=[], warnings=[])
    started = time.perf_counter()
    # What ``entitlement_publish`` changes (status, state, published_at), then the run the change asks for.
    Entitlement.objects.filter(pk=draft.pk).update(status="published", state="published",
                                                   published_at=timezone.now())
    summary = recompute_tenant(tenant=tenant, as_of=as_of, changed={"entitlements": [draft.pk]})
    after = BalanceRow.objects.get(as_of=as_of, repository_id_ref__isnull=True, product_id=product_id,
                                   license_model=model)
    elapsed = time.perf_counter() - started
    assert after.purchased == before.purchased + 7, (before.purchased, after.purchased)
    return {"edit_to_balance_s": round(elapsed, 2), "edit_position_requirements": n,
            "edit_balance_scope": summary.get("balance_scope", "full")}


def _generate_in_child(args, env) -> str:
    child = subprocess.run([sys.executable, __file__, "--devices", str(args.devices), "--generate-only"],
                           check=True, capture_output=True, text=True, env=env)
    return child.stdout.strip().splitlines()[-1]


def _prepare_estate_db(args) -> str:
    """Generate the estate once into ``--estate-db`` and copy it to DATABASE_URL's database.

    The generation JSON is kept as the template database's comment. Generating 100,000 devices
    takes several minutes; copying the template takes seconds, so every run starts from the same
    untouched estate with an empty requirement table.
    """
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    target = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    template = f"{args.estate_db}_{args.devices}"
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                           [template]).fetchone()
        if row is None or not row[0]:
            conn.execute(f'DROP DATABASE IF EXISTS "{template}"')
            conn.execute(f'CREATE DATABASE "{template}"')
            started = time.perf_counter()
            generated = _generate_in_child(args, {**os.environ,
                                                  "DATABASE_URL": urlunsplit(parts._replace(path=f"/{template}"))})
            print(f"estate generated into {template} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            conn.execute(f'COMMENT ON DATABASE "{template}" IS ' + "'" + generated.replace("'", "''") + "'")
        else:
            generated = row[0]
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{template}"')
    return generated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--no-balance", action="store_true", help="time the requirement stages only")
    parser.add_argument("--edit-requirements", type=int, default=1000,
                        help="edit_to_balance_s publishes a license of the position with about this many requirements")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--estate-db", default="",
                        help="PostgreSQL only: keep the generated estate in this database (generated on first use) "
                             "and start every run from a fresh copy of it (CREATE DATABASE ... TEMPLATE)")
    args = parser.parse_args()
    generated_json = _prepare_estate_db(args) if args.estate_db and not args.generate_only else None

    import django

    django.setup()
    import datetime as dt

    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope

    from benchmarks.estate import delta, generate
    from requirements_engine.engine import _resolve_scope, recompute_tenant, requirements_compute
    from requirements_engine.models import Requirement
    from sam.models import Tenant
    from sam.services import tenant_create

    if args.generate_only:
        # Run in a child process so the peak RSS reported below is the engine's, not the generator's.
        call_command("migrate", verbosity=0)
        slug = f"bench-{args.devices}-{int(time.time())}"
        tenant, _created = tenant_create(slug=slug, name=slug)
        started = time.perf_counter()
        estate = generate(tenant=tenant, devices=args.devices)
        print(json.dumps({"slug": slug, "generate_s": round(time.perf_counter() - started, 2),
                          "installations": estate.installations, "persons": estate.persons,
                          "memberships": estate.memberships, "placements": estate.placements,
                          "products": estate.products}))
        return
    if generated_json:
        call_command("migrate", verbosity=0)  # the kept estate may predate this branch's migrations
    generated = json.loads(generated_json or _generate_in_child(args, os.environ))
    tenant = Tenant.objects.get(slug=generated.pop("slug"))
    as_of = dt.date.today()
    out: dict = {"database": connection.vendor, "devices": args.devices, **generated}

    def run(changed=None) -> dict:
        if args.no_balance:
            scopes = _resolve_scope(changed=changed)
            return requirements_compute(tenant=tenant, as_of=as_of, scope=scopes[0])
        return recompute_tenant(tenant=tenant, as_of=as_of, changed=changed)

    with scope(tenant=tenant):
        started = time.perf_counter()
        first = run()
        out["full_recompute_s"] = round(time.perf_counter() - started, 2)
        out["full_recompute_includes_balance"] = not args.no_balance
        out["requirement_stage_timings"] = first["timings"]
        out["requirements"] = Requirement.objects.count()
        started = time.perf_counter()
        noop = requirements_compute(tenant=tenant, as_of=as_of)
        out["noop_requirements_s"] = round(time.perf_counter() - started, 2)
        out["noop_writes"] = noop["created"] + noop["updated"] + noop["deleted"]
        out["noop_timings"] = noop["timings"]

        changed = delta(tenant=tenant, changes=args.changes)
        started = time.perf_counter()
        summary = run(changed={"devices": changed})
        out["incremental_recompute_s"] = round(time.perf_counter() - started, 2)
        out["incremental_changed_devices"] = len(changed)
        out["incremental_scope"] = summary["scope"]
        out["incremental_timings"] = summary["timings"]

        out.update(edit_to_balance(tenant=tenant, as_of=as_of, requirements=args.edit_requirements))

    out["read_baseline_s"] = round(read_baseline(tenant.id), 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
