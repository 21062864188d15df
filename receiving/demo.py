"""Demo data of receiving inspection: a few weeks of reseller reports for the demo tenants.

Most lines buy the demo's catalog SKUs (``catalog/data/demo/catalog.csv``) and clear at once; the rest
carry the faults clearing staff see every day: the reseller's own part numbers, cost centers that no
longer exist, typos in requester e-mails, a price in a made-up currency, a line delivered twice.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

from django.utils import timezone

from receiving.models import ImportBatch, PurchaseLine
from receiving.services import receiving_receive
from sam.models import Tenant

CATALOG = Path(__file__).resolve().parent.parent / "catalog" / "data" / "demo" / "catalog.csv"
SUPPLIERS = ("SoftwareOne", "Bechtle", "Insight", "Crayon")


def _skus() -> list[dict[str, str]]:
    if not CATALOG.exists():
        return []
    with CATALOG.open(encoding="utf-8") as fh:
        return [r for r in csv.DictReader(fh) if (r.get("sku") or "").strip()]


def _org(tenant: Tenant) -> tuple[list[str], list[str], dict[str, str]]:
    from entitlements.models import Contract
    from inventory.models import CostCenter, Person

    centers = list(CostCenter.objects.values_list("code", flat=True)[:20]) or ["IT"]
    emails = [e for e in Person.objects.filter(status="active").exclude(email="")
              .values_list("email", flat=True)[:40]] or ["it@demo.example"]
    contracts = {}
    for number, publisher in Contract.objects.values_list("number", "publisher__name"):
        if publisher:
            contracts.setdefault(publisher, number)
    return centers, emails, contracts


def build(tenant: Tenant, *, weeks: int = 6, per_week: int = 30, seed: int = 11) -> list[list[dict[str, str]]]:
    """One reseller report per week: mostly clean lines, about one in six with a typical fault."""
    skus = _skus()
    if not skus:
        return []
    centers, emails, contracts = _org(tenant)
    rnd = random.Random(f"{tenant.slug}-{seed}")
    today = timezone.localdate()
    reports = []
    for week in range(weeks):
        order_day = today - dt.timedelta(days=7 * (weeks - week) + 3)
        po = f"PO-{order_day:%y%m}-{week + 1:03d}"
        lines = []
        for n in range(per_week):
            sku = rnd.choice(skus)
            price = sku.get("list_price") or f"{rnd.randint(20, 900)}.00"
            line = {
                "sku": sku["sku"], "description": sku.get("sku_description", ""), "publisher": sku["publisher"],
                "quantity": str(rnd.choice((1, 1, 2, 5, 10, 25))), "unit_price": price,
                "currency": sku.get("currency") or "EUR", "po_number": po, "po_line": str(n + 1),
                "order_date": order_day.isoformat(), "invoice_number": f"INV-{order_day:%y%m%d}-{week}",
                "contract_number": contracts.get(sku["publisher"], ""), "cost_center": rnd.choice(centers),
                "requester_email": rnd.choice(emails), "supplier": SUPPLIERS[week % len(SUPPLIERS)],
            }
            fault = rnd.random()
            if fault < 0.07:
                line["sku"] = f"{SUPPLIERS[week % len(SUPPLIERS)][:3].upper()}-{sku['sku'].replace('-', '')}"
            elif fault < 0.10:
                line["cost_center"] = "CC-OLD"
            elif fault < 0.13:
                user, _at, domain = line["requester_email"].partition("@")
                line["requester_email"] = f"{user}@{domain.replace('.', '', 1)}" if "." in domain else f"{user}@@{domain}"
            elif fault < 0.14:
                line["currency"] = "EURO"
            elif fault < 0.15 and n:
                line["po_line"] = str(n)  # the reseller reported the previous line twice
            lines.append(line)
        reports.append(lines)
    return reports


def seed(tenant: Tenant, devices: int = 400, log: Callable[[str], None] = print) -> None:
    """Receive the demo reports into ``tenant`` (inside its scope; idempotent)."""
    if ImportBatch.objects.filter(filename__startswith="demo-reseller-report").exists():
        log(f"receiving {tenant.slug}: demo reports already received")
        return
    reports = build(tenant, per_week=max(12, min(60, devices // 10)))
    if not reports:
        log(f"receiving {tenant.slug}: no master catalog found; no demo procurement")
        return
    now = timezone.now()
    for week, lines in enumerate(reports):
        result = receiving_receive(tenant=tenant, actor="seed_demo", rows=[(i + 2, v) for i, v in enumerate(lines)],
                                   source="command", filename=f"demo-reseller-report-{week + 1}.csv")
        if result.batch is not None:
            # Spread the reports over the past weeks so ageing and the trend show something.
            when = now - dt.timedelta(days=7 * (len(reports) - week))
            ImportBatch.objects.filter(pk=result.batch.pk).update(created_at=when)
            PurchaseLine.objects.filter(batch=result.batch).update(received_at=when)
            PurchaseLine.objects.filter(batch=result.batch, transferred_at__isnull=False).update(transferred_at=when)
        log(f"receiving {tenant.slug}: report {week + 1}: {result.created} lines, {result.transferred} transferred, "
            f"{result.waiting} waiting")
