"""Demo license inventory: agreements and a realistic license stock for the demo tenants.

Products come from the shipped master catalog (by SKU); an entitlement whose SKU the catalog does
not have is skipped, so the demo still loads with a partial catalog. The inventory includes what a
license manager meets in real life: drafts with errors, expiring subscriptions, a maintenance that
covers licenses, an upgrade chain, a what-if repository. Running it twice changes nothing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from entitlements import services
from entitlements.models import Contract, Entitlement, EntitlementType, Repository, Term
from sam.models import Tenant

ACTOR = "seed_demo"

CONTRACTS = (
    ("EA-DEMO-01", "Microsoft", "Microsoft Enterprise Agreement", dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
    ("ORA-DEMO-01", "Oracle", "Oracle License and Services Agreement", dt.date(2022, 6, 1), None),
    ("IBM-PA-01", "IBM", "IBM Passport Advantage", dt.date(2023, 1, 1), None),
    ("VIP-DEMO-01", "Adobe", "Adobe Value Incentive Plan", dt.date(2025, 3, 1), dt.date(2026, 2, 28)),
)


def _rows(devices: int, today: dt.date) -> list[dict]:
    """(identifier, sku, values) of the demo stock; quantities grow with the estate."""
    scale = max(devices, 20)
    return [
        {"identifier": "MS-OFF21-PP", "sku": "79P-06060", "quantity": round(scale * 0.55), "unit_cost": "560.00",
         "contract": "EA-DEMO-01", "invoice_number": "INV-24-0012", "publish": True, "management_group": "Headquarters"},
        {"identifier": "MS-OFF21-STD", "sku": "021-10743", "quantity": round(scale * 0.2), "unit_cost": "390.00",
         "contract": "EA-DEMO-01", "invoice_number": "INV-24-0012", "publish": True, "management_group": "Branches"},
        {"identifier": "MS-VISIO21-PRO", "sku": "D87-07554", "quantity": 25, "unit_cost": "730.00",
         "contract": "EA-DEMO-01", "po_number": "PO-7781", "publish": True},
        {"identifier": "MS-PROJ21-PRO", "sku": "H30-05939", "quantity": 15, "unit_cost": "1120.00",
         "contract": "EA-DEMO-01", "po_number": "PO-7782", "publish": True},
        {"identifier": "MS-WS22-DC", "sku": "9EA-01260", "quantity": 12, "unit_cost": "385.00",
         "contract": "EA-DEMO-01", "invoice_number": "INV-24-0044", "publish": True, "key": "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"},
        {"identifier": "MS-SQL22-ENT", "sku": "7JQ-01823", "quantity": 8, "unit_cost": "6874.00",
         "contract": "EA-DEMO-01", "invoice_number": "INV-24-0045", "publish": True},
        {"identifier": "MS-SQL22-STD", "sku": "7NQ-01708", "quantity": 12, "unit_cost": "1793.00",
         "contract": "EA-DEMO-01", "invoice_number": "INV-24-0045", "publish": True},
        {"identifier": "MS-M365-E3", "sku": "AAA-33204", "quantity": round(scale * 0.5), "unit_cost": "33.75",
         "payment_frequency": "monthly", "term": Term.SUBSCRIPTION, "start_date": today - dt.timedelta(days=320),
         "end_date": today + dt.timedelta(days=45), "contract": "EA-DEMO-01", "publish": True},
        {"identifier": "ADOBE-ACRO-PRO", "sku": "65324079BA01A12", "quantity": 30, "unit_cost": "179.88",
         "payment_frequency": "yearly", "term": Term.SUBSCRIPTION, "start_date": today - dt.timedelta(days=290),
         "end_date": today + dt.timedelta(days=75), "contract": "VIP-DEMO-01", "publish": True},
        {"identifier": "ADSK-ACAD-25", "sku": "057Q1-WW3740-L562", "quantity": 10, "unit_cost": "2030.00",
         "payment_frequency": "yearly", "term": Term.SUBSCRIPTION, "start_date": today - dt.timedelta(days=345),
         "end_date": today + dt.timedelta(days=20), "publish": True},
        {"identifier": "ORA-DB19-EE", "sku": "A90611", "quantity": 4, "unit_cost": "47500.00",
         "contract": "ORA-DEMO-01", "invoice_number": "ORA-INV-889", "publish": True, "metric": "processor"},
        {"identifier": "IBM-DB2-STD", "sku": "D1VZRLL", "quantity": 700, "unit_cost": "62.00",
         "contract": "IBM-PA-01", "invoice_number": "IBM-5521", "publish": True},
        {"identifier": "VMW-VS8-EPL", "sku": "VS8-EPL-C", "quantity": 64, "unit_cost": "135.00",
         "po_number": "PO-8120", "publish": True},
        # What a license manager still has to fix:
        {"identifier": "MS-VISIO21-STD", "sku": "D86-05942", "quantity": None, "unit_cost": "290.00",
         "contract": "EA-DEMO-01", "comments": "Count on the delivery note unreadable; ask the reseller."},
        {"identifier": "MS-PROJ21-STD", "sku": "076-05893", "quantity": 5, "term_override": Term.SUBSCRIPTION,
         "comments": "Bought as a subscription? End date missing."},
        {"identifier": "MS-OFF24-PP-NEW", "sku": "79P-06550", "quantity": 20, "unit_cost": None,
         "comments": "Price not yet known.", "upgrades": "MS-OFF21-PP"},
    ]


def _contracts(tenant: Tenant) -> dict[str, Contract]:
    from entitlements.importers import publishers_by_name

    publishers = publishers_by_name(tenant=tenant, names={c[1] for c in CONTRACTS})
    out = {}
    for number, publisher, name, start, end in CONTRACTS:
        contract = Contract.objects.filter(tenant=tenant, number=number).first()
        if contract is None:
            contract = services.contract_create(tenant=tenant, actor=ACTOR, data={
                "number": number, "publisher": publishers.get(publisher.lower()), "name": name, "start_date": start,
                "end_date": end, "sponsor": "Chief Information Officer"})
        out[number] = contract
    return out


def seed(*, tenant: Tenant, devices: int, log: Callable[[str], None] = print) -> None:
    """Agreements, licenses and maintenances for one demo tenant (inside its scope)."""
    if Entitlement.objects.filter(tenant=tenant, identifier__startswith="MS-").exists():
        log(f"entitlements: {tenant.slug} already has its demo license inventory")
        return
    today = timezone.localdate()
    with transaction.atomic():
        contracts = _contracts(tenant)
        known = services.sku_defaults(tenant=tenant, part_numbers=[r["sku"] for r in _rows(devices, today)])
        made: dict[str, Entitlement] = {}
        skipped = 0
        for row in _rows(devices, today):
            row = dict(row)
            if row["sku"] not in known:
                skipped += 1
                continue
            publish = row.pop("publish", False)
            key = row.pop("key", None)
            group = row.pop("management_group", None)
            upgrades = row.pop("upgrades", None)
            term_override = row.pop("term_override", None)
            data = {k: v for k, v in row.items() if k != "contract"}
            data["contract"] = contracts.get(row.get("contract")) if row.get("contract") else None
            data.setdefault("start_date", dt.date(2024, 2, 1))
            data["currency"] = "EUR"
            if data.get("unit_cost") is not None:
                data["unit_cost"] = Decimal(data["unit_cost"])
            if term_override:
                data["term"] = term_override
            if group:
                data["management_group"] = services.management_group_get_or_create(tenant=tenant, actor=ACTOR,
                                                                                   name=group)
            if upgrades and upgrades in made:
                data["upgrades"] = made[upgrades]
            ent = services.entitlement_create(tenant=tenant, actor=ACTOR, data=data, publish=publish)
            if key:
                services.license_key_add(entitlement=ent, actor=ACTOR, key=key)
            made[row["identifier"]] = ent
        covered = [made[i] for i in ("MS-SQL22-ENT", "MS-WS22-DC") if i in made]
        if covered:
            services.entitlement_create(tenant=tenant, actor=ACTOR, publish=True, data={
                "type": EntitlementType.MAINTENANCE, "identifier": "MS-SA-2024", "title": "Software Assurance",
                "product": covered[0].product, "quantity": covered[0].quantity, "units": covered[0].units,
                "start_date": dt.date(2024, 1, 1), "duration_months": 36, "unit_cost": Decimal("1718.00"),
                "payment_frequency": "yearly", "currency": "EUR", "contract": contracts["EA-DEMO-01"],
                "invoice_number": "INV-24-0046", "covers": covered,
                "comments": "Software Assurance on the SQL Server and Windows Server licenses."})
        whatif, _created = Repository.objects.get_or_create(tenant=tenant, name="What-if: Office 2024 refresh")
        if "79P-06550" in known:
            services.entitlement_create(tenant=tenant, actor=ACTOR, publish=True, data={
                "sku": "79P-06550", "identifier": "PLAN-OFF24", "quantity": max(devices // 2, 10),
                "unit_cost": Decimal("590.00"), "currency": "EUR", "repository": whatif,
                "comments": "Proposal: replace Office 2021 on every workstation."})
    log(f"entitlements: {tenant.slug}: {len(made)} licenses, 4 agreements"
        + (f" ({skipped} demo SKUs not in the catalog, skipped)" if skipped else ""))
