"""Print the figures of the shipped master catalog (catalog/data/master) as JSON.

``--recognition N`` also times the recognition of N installed applications (one in ten a name the
shipped rules know, the rest unknown names) against the shipped rules, in memory: the matching cost
that every recognition run pays per fingerprint, without the database.
"""
from __future__ import annotations

import csv
import json
import random
import time

from django.core.management.base import BaseCommand

from catalog.demo import DEMO_INSTALLATIONS, MASTER_DIR, shipped_catalog_figures


def _recognition_benchmark(count: int) -> dict:
    from catalog.recognition import _Matcher
    from catalog.selectors import FingerprintRuleData

    with (MASTER_DIR / "fingerprints.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    rules = [FingerprintRuleData(r["publisher"] or "*", r["name"], r["version"] or "*",
                                 r["classification"] or "product", None, False, pk)
             for pk, r in enumerate(rows, start=1)]
    rules.sort(key=lambda r: (tuple(-s for s in r.specificity), r.pk))  # as fingerprint_rules_effective
    rnd = random.Random(1)
    publishers = ("Microsoft Corporation", "Adobe Inc.", "Oracle Corporation", "Google LLC", "Contoso Ltd", "")
    triples = [DEMO_INSTALLATIONS[i // 10 % len(DEMO_INSTALLATIONS)][:3] if i % 10 == 0 else
               (rnd.choice(publishers), f"Some Application {i} Suite", f"{i % 7}.{i}") for i in range(count)]
    started = time.perf_counter()
    matcher = _Matcher(rules)
    matched = sum(1 for t in triples if matcher.match(*t) is not None)
    return {"fingerprints": count, "rules": len(rules), "matched": matched,
            "seconds": round(time.perf_counter() - started, 2)}


class Command(BaseCommand):
    help = "Print the figures of the shipped master catalog (products, SKUs, rules, models, processors) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--recognition", type=int, default=0, metavar="N",
                            help="also time matching N installed applications against the shipped rules")

    def handle(self, *args, **options):
        out: dict = shipped_catalog_figures()
        if options["recognition"]:
            out = {"figures": out, "recognition": _recognition_benchmark(options["recognition"])}
        self.stdout.write(json.dumps(out, indent=2))
