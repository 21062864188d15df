"""Allocation at scale: 3,000 products, 50,000 license entitlements, synthetic positions.

Runs the balance's coverage rules and min-cost-flow allocation in memory (no database) and prints
one JSON object: positions, entitlements, supply classes, coverage edges, allocated and short
units and the seconds it took. The budget is 10 s.

    .venv/bin/python benchmarks/allocation.py [--products 3000] [--entitlements 50000] [--seed 7]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")

import django  # noqa: E402

django.setup()

from catalog.models import version_key  # noqa: E402
from requirements_engine.allocation import allocate, from_units, supply_classes, to_units  # noqa: E402
from requirements_engine.coverage import CatalogFacts, LicenseFacts, ProductFacts, coverage_edges  # noqa: E402

VERSIONS = ["2019", "2022", "2024"]
EDITIONS = [("Standard", 10), ("Enterprise", 20)]
MODELS = ["Per Device", "Per Core"]


def synthetic(products: int, entitlements: int, seed: int):
    rng = random.Random(seed)
    facts = CatalogFacts(license_models={"Per Device": {"metric": "device", "rounding": "consumer"},
                                         "Per Core": {"metric": "core", "rounding": "position"}})
    catalog: dict[int, ProductFacts] = {}
    titles = products // (len(VERSIONS) * len(EDITIONS))
    pid = 0
    for t in range(titles):
        publisher = t % 150
        for version in VERSIONS:
            for edition, rank in EDITIONS:
                pid += 1
                catalog[pid] = ProductFacts(pid, publisher, f"P{publisher}", f"Title {t}", version, edition,
                                            version_key(version), dt.date(int(version), 3, 1))
                facts.edition_ranks[(f"P{publisher}", f"Title {t}", edition)] = rank
    model_of_title = {t: MODELS[t % 7 == 0] for t in range(titles)}
    demands: dict[tuple[int, str], int] = {}
    for p in catalog.values():
        t = int(p.title.split()[1])
        if rng.random() < 0.8:
            demands[(p.id, model_of_title[t])] = to_units(Decimal(rng.randint(1, 60)))
    prices = [Decimal(x) for x in (50, 60, 75, 90, 120, 300, 900)]
    licenses = []
    ids = list(catalog)
    for i in range(1, entitlements + 1):
        p = catalog[rng.choice(ids)]
        t = int(p.title.split()[1])
        maint = ()
        if rng.random() < 0.05:
            maint = ((dt.date(2021, 1, 1), dt.date(2024, 12, 31), 10_000_000 + i),)
        licenses.append(LicenseFacts(
            id=i, product_id=p.id, license_model=model_of_title[t],
            total=None if rng.random() < 0.001 else Decimal(rng.randint(1, 8)),
            version_downgrade=rng.random() < 0.9, version_upgrade=rng.random() < 0.1,
            edition_downgrade=rng.random() < 0.4, unit_price=rng.choice(prices), start_date=None, end_date=None,
            maintenance=maint))
    return catalog, facts, demands, licenses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=3000)
    parser.add_argument("--entitlements", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    catalog, facts, demands, licenses = synthetic(args.products, args.entitlements, args.seed)
    started = time.perf_counter()
    classes = supply_classes(licenses=licenses)
    edges = coverage_edges(supplies=[c.representative for c in classes], positions=demands, products=catalog,
                           catalog=facts)
    lines = allocate(demands=demands, classes=classes, edges=edges)
    seconds = time.perf_counter() - started
    allocated = sum(line.units for line in lines)
    demand = sum(demands.values())
    print(json.dumps({
        "positions": len(demands), "products": len(catalog), "entitlements": len(licenses),
        "supply_classes": len(classes), "edges": len(edges), "allocation_rows": len(lines),
        "required_units": str(from_units(demand).normalize()), "covered_units": str(from_units(allocated).normalize()),
        "shortfall_units": str(from_units(demand - allocated).normalize()), "seconds": round(seconds, 3),
        "budget_seconds": 10, "within_budget": seconds < 10,
    }))


if __name__ == "__main__":
    main()
