"""Demo data of the catalog: the shipped reference master catalog and a tenant amendment or two.

``seed_master`` imports the shipped master catalog ``catalog/data/master/*.csv`` into the master
tables through the same importers ``import_data`` uses (idempotent: a second run changes nothing),
then the demo's own part numbers ``catalog/data/demo/catalog.csv``: illustrative SKUs and prices the
demo's purchases and licenses use, which are not part of the shipped reference catalog (it ships no
part number that could not be sourced). ``seed`` adds a few amendments of the kind a tenant makes:
a reseller's code as SKU alias, a local license model.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.db import transaction

from catalog.models import Classification, TenantLicenseModel, TenantSkuAlias
from sam.audit import audit_record, snapshot
from sam.models import Tenant

MASTER_DIR = Path(__file__).resolve().parent / "data" / "master"
#: Illustrative part numbers and prices of the demo (loaded into the master of a demo installation).
DEMO_SKUS = Path(__file__).resolve().parent / "data" / "demo" / "catalog.csv"
#: The order matters: license models before the catalog that names them, products before the
#: rules that point at them.
MASTER_KINDS = ("license_models", "processors", "catalog", "editions", "fingerprints", "group_assignments")

#: Installed applications (publisher, name, version) that the shipped recognition rules know, for
#: demo estates: product installations, irrelevant ones, and one nobody has classified yet.
DEMO_INSTALLATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Microsoft Corporation", "Microsoft Office LTSC Standard 2021", "16.0.14332", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Office LTSC Professional Plus 2021", "16.0.14332", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Office LTSC Professional Plus 2024", "16.0.17932", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Visio LTSC Professional 2021", "16.0.14332", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Project Professional 2021", "16.0.14332", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Windows Server 2022 Standard", "10.0.20348", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Windows Server 2022 Datacenter", "10.0.20348", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft SQL Server 2022 Standard (64-bit)", "16.0.1000.6", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft SQL Server 2022 Enterprise (64-bit)", "16.0.1000.6", Classification.PRODUCT),
    ("Oracle", "Oracle Database 19c Enterprise Edition", "19.3.0.0", Classification.PRODUCT),
    ("IBM", "IBM Db2 Standard Edition", "11.5.8", Classification.PRODUCT),
    ("Adobe Inc.", "Adobe Acrobat DC Pro", "24.002", Classification.PRODUCT),
    ("Autodesk, Inc.", "AutoCAD 2025 - English", "25.0.58", Classification.PRODUCT),
    ("VMware, Inc.", "VMware ESXi", "8.0.2", Classification.PRODUCT),
    ("Microsoft Corporation", "Microsoft Visual C++ 2015-2022 Redistributable (x64)", "14.38", Classification.IRRELEVANT),
    ("Microsoft Corporation", "Microsoft Edge", "120.0", Classification.IRRELEVANT),
    ("Google LLC", "Google Chrome", "120.0", Classification.IRRELEVANT),
    ("Adobe Inc.", "Adobe Acrobat Reader DC", "24.001", Classification.IRRELEVANT),
    ("Contoso Tools", "Contoso Inventory Agent", "3.2", Classification.UNKNOWN),
    ("Notepad++ Team", "Notepad++ (64-bit x64)", "8.6", Classification.UNKNOWN),
)


def seed_master(log: Callable[[str], None] = print) -> None:
    """Import the shipped reference master catalog and the demo's part numbers (idempotent)."""
    from sam.importing import import_file

    for kind in MASTER_KINDS:
        path = MASTER_DIR / f"{kind}.csv"
        result = import_file(kind=kind, source=path, tenant=None, recompute=False, actor="seed_demo")
        log(f"master {result.summary()}")
    result = import_file(kind="catalog", source=DEMO_SKUS, tenant=None, recompute=False, actor="seed_demo")
    log(f"demo part numbers {result.summary()}")


def seed(tenant: Tenant, devices: int = 0, log: Callable[[str], None] = print) -> None:
    """Amendments of a demo tenant (idempotent): a reseller's SKU code and a site license model."""
    with transaction.atomic():
        alias, created = TenantSkuAlias.objects.get_or_create(
            tenant=tenant, alias="MS-OFF-STD-21", defaults={"part_number": "021-10743"})
        if created:
            audit_record(tenant=tenant, actor="seed_demo", action="catalog.alias.created", obj=alias,
                         after=snapshot(alias))
        model, created = TenantLicenseModel.objects.get_or_create(
            tenant=tenant, name="Site License", defaults={
                "assignment": "none", "metric": "other", "effective": False, "quantity": "1",
                "description": "Covered by a site agreement: deployments are tracked, no license is counted.",
            })
        if created:
            audit_record(tenant=tenant, actor="seed_demo", action="catalog.license_model.created", obj=model,
                         after=snapshot(model))
    log(f"catalog amendments for {tenant.slug}: SKU alias MS-OFF-STD-21, license model 'Site License'")


def shipped_catalog_figures() -> dict[str, int]:
    """The figures of the shipped master catalog, counted from its files (docs/catalog.md quotes them)."""
    import csv

    def rows(kind: str) -> list[dict[str, str]]:
        with (MASTER_DIR / f"{kind}.csv").open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    catalog = rows("catalog")
    rules = rows("fingerprints")
    keys = {tuple(r[c].strip().lower() for c in ("publisher", "product", "version", "edition")) for r in catalog}
    return {
        "publishers": len({r["publisher"].strip().lower() for r in catalog}),
        "products": len(keys),
        "skus": sum(1 for r in catalog if (r.get("sku") or "").strip()),
        "license_models": len(rows("license_models")),
        "recognition_rules": len(rules),
        "rules_to_products": sum(1 for r in rules if (r.get("product") or "").strip()),
        "rules_irrelevant": sum(1 for r in rules if (r.get("classification") or "").strip() == "irrelevant"),
        "edition_ranks": len(rows("editions")),
        "processor_rows": len(rows("processors")),
        "group_assignments": len(rows("group_assignments")),
    }
