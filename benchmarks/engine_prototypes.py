"""The two candidates for the set-based engine, on the same stage: installations → foundations.

The widest stage of a run joins every installation with its fingerprint (assigned product) and
its device (relevance), then compares the result with the stored foundations. Two ways:

* ``polars``: read the three inputs and the stored foundations with ``COPY ... TO STDOUT`` into
  Polars frames, join and anti-join in the engine process (what ``requirements_engine.columnar``
  does);
* ``sql``: the same joins pushed into PostgreSQL — ``CREATE TEMP TABLE ... AS SELECT`` of the
  wanted foundations, then the difference with the stored ones as ``SELECT count(*) ... EXCEPT``.

Usage (on a kept estate, see ``benchmarks/engine.py --estate-db``)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sam_engine_estate_100000 \\
        .venv/bin/python benchmarks/engine_prototypes.py

Prints one JSON object with the seconds of each candidate (best of ``--repeat``) and the row counts.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")

SQL = """
CREATE TEMP TABLE proto_found AS
SELECT 'd:' || i.device_id AS ck, f.product_id AS pid, 'installation'::text AS kind, 'fp:' || f.id AS sk,
       concat_ws(' ', nullif(f.publisher, ''), nullif(f.name, ''), nullif(f.version, '')) AS source
FROM inventory_installation i
JOIN inventory_fingerprint f ON f.id = i.fingerprint_id
JOIN inventory_device d ON d.id = i.device_id
WHERE i.tenant_id = %(t)s AND f.classification = 'product' AND f.product_id IS NOT NULL
  AND lower(d.status) IN ('active', 'in use') AND (d.role <> 'server' OR lower(d.power) = 'on')
"""
DIFF = """
SELECT count(*) FROM (
  SELECT ck, pid, kind, sk FROM proto_found
  EXCEPT
  SELECT r.consumer_key, r.product_id, fo.kind, fo.source_key FROM requirements_engine_foundation fo
  JOIN requirements_engine_requirement r ON r.id = fo.requirement_id WHERE fo.tenant_id = %(t)s
) x
"""


def run_sql(tenant_id: int) -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS proto_found")
        cur.execute(SQL, {"t": tenant_id})
        cur.execute(DIFF, {"t": tenant_id})
        new = cur.fetchone()[0]
    return time.perf_counter() - started, new


def run_polars(tenant) -> tuple[float, int]:
    import polars as pl

    from inventory.models import Device, Fingerprint, Installation
    from requirements_engine import frames
    from requirements_engine.models import Foundation

    started = time.perf_counter()
    inst = frames.read(Installation.objects.filter(fingerprint__classification="product",
                                                   fingerprint__product__isnull=False),
                       {"device_id": frames.INT, "fp": frames.INT}, ["device_id", "fingerprint_id"])
    fps = frames.read(Fingerprint.objects.filter(classification="product", product__isnull=False),
                      {"fp": frames.INT, "pid": frames.INT, "publisher": frames.STR, "name": frames.STR,
                       "version": frames.STR}, ["id", "product_id", "publisher", "name", "version"])
    dev = frames.read(Device.objects.all(), {"device_id": frames.INT, "status": frames.STR, "role": frames.STR,
                                             "power": frames.STR}, ["id", "status", "role", "power"])
    relevant = dev.filter(pl.col("status").str.to_lowercase().is_in(["active", "in use"])
                          & ((pl.col("role") != "server") | (pl.col("power").str.to_lowercase() == "on")))
    found = (inst.join(relevant.select("device_id"), on="device_id", how="semi").join(fps, on="fp", how="inner")
             .select(pl.concat_str([pl.lit("d:"), pl.col("device_id").cast(pl.String)]).alias("ck"), "pid",
                     pl.lit("installation").alias("kind"),
                     pl.concat_str([pl.lit("fp:"), pl.col("fp").cast(pl.String)]).alias("sk")))
    stored = frames.read(Foundation.objects.all(), {"ck": frames.STR, "pid": frames.INT, "kind": frames.STR,
                                                    "sk": frames.STR},
                         ["requirement__consumer_key", "requirement__product_id", "kind", "source_key"])
    new = found.join(stored, on=["ck", "pid", "kind", "sk"], how="anti").height
    return time.perf_counter() - started, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    import django

    django.setup()
    from django_scopes import scope

    from sam.models import Tenant

    tenant = Tenant.objects.filter(slug__startswith="bench-").order_by("-id").first()
    out: dict = {"tenant": tenant.slug}
    with scope(tenant=tenant):
        polars_runs = [run_polars(tenant) for _ in range(args.repeat)]
        sql_runs = [run_sql(tenant.id) for _ in range(args.repeat)]
    out["polars_s"] = round(min(r[0] for r in polars_runs), 2)
    out["sql_s"] = round(min(r[0] for r in sql_runs), 2)
    out["new_foundations"] = [polars_runs[0][1], sql_runs[0][1]]
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
