"""Import kinds of the license inventory: ``contracts`` and ``entitlements`` (an existing license stock).

Both are set-based: references are resolved with one query per chunk, rows are written in bulk, and
a bad row is rejected with a reason code without touching the others. Re-importing a file changes
nothing: agreements are keyed by number, entitlements by their custom identifier or, without one,
by a fingerprint of the row's values.
"""
from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Publisher
from entitlements.models import Contract, Entitlement, EntitlementType, Status, Term
from sam.audit import _plain, actor_label, snapshot
from sam.importing import (
    ImportResult,
    RowError,
    clean,
    iter_chunks,
    parse_bool,
    parse_date,
    parse_decimal,
    register_kind,
)
from sam.models import AuditEvent

CHUNK = 900


def _audit_rows(*, tenant, actor, action: str, objs: list, before: dict[int, dict] | None = None) -> None:
    if not objs:
        return
    user = actor if hasattr(actor, "pk") and hasattr(actor, "username") else None
    now = timezone.now()
    AuditEvent.objects.bulk_create([
        AuditEvent(tenant=tenant, actor=user, actor_label=actor_label(actor)[:150], action=action,
                   object_type=o._meta.label_lower, object_id=str(o.pk), object_repr=str(o)[:300],
                   before=_plain((before or {}).get(o.pk)) if before else None, after=_plain(snapshot(o)), at=now)
        for o in objs
    ], batch_size=1000)


def publishers_by_name(*, tenant, names: set[str]) -> dict[str, Publisher]:
    """Publishers by lower-cased name as this tenant sees them, creating the missing ones as its own.

    Another tenant's private publisher of the same name is never used (see
    ``catalog.services.publishers_get_or_create``).
    """
    from catalog.services import publishers_get_or_create

    return publishers_get_or_create(names=names, tenant=tenant)


CONTRACT_COLUMNS = {
    "number": ("agreement number", "agreement", "contract", "contract number", "agreement_number"),
    "publisher": ("manufacturer", "vendor"),
    "name": ("agreement name", "contract name", "title"),
    "start_date": ("start", "valid from", "from"),
    "end_date": ("end", "valid to", "to", "expiry", "expires"),
}


@register_kind("contracts", columns=CONTRACT_COLUMNS, required=("number",),
               description="Volume agreements: number, publisher, name, start and end date.")
def import_contracts(*, tenant, rows, as_of, actor, job, profile, source, filename) -> ImportResult:
    result = ImportResult(kind="contracts", read=len(rows))
    date_fmt = getattr(profile, "date_format", "") or ""
    parsed: dict[str, tuple[int, dict[str, Any]]] = {}
    for row_no, values in rows:
        try:
            number = clean(values.get("number"))
            if not number:
                raise RowError("number.missing", "the agreement number is empty", "number")
            if len(number) > 100:
                raise RowError("number.too_long", "at most 100 characters", "number")
            start = parse_date(values.get("start_date"), fmt=date_fmt, column="start_date")
            end = parse_date(values.get("end_date"), fmt=date_fmt, column="end_date")
            if start and end and end < start:
                raise RowError("dates.end_before_start", "the end date lies before the start date", "end_date")
            publisher = clean(values.get("publisher"))[:200]
            name = clean(values.get("name"))[:200]
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        if number in parsed:
            result.reject(parsed[number][0], "number.duplicate", f"{number} appears again in row {row_no}", "number")
        parsed[number] = (row_no, {"publisher": publisher, "name": name, "start_date": start, "end_date": end})
    if not parsed:
        return result
    publishers = publishers_by_name(tenant=tenant, names={v["publisher"] for _n, v in parsed.values()})
    existing: dict[str, Contract] = {}
    for chunk in iter_chunks(sorted(parsed), CHUNK):
        for c in Contract.objects.filter(tenant=tenant, number__in=chunk):
            existing[c.number] = c
    new, changed, before = [], [], {}
    for number, (_row_no, v) in parsed.items():
        pub = publishers.get(v["publisher"].lower()) if v["publisher"] else None
        c = existing.get(number)
        if c is None:
            new.append(Contract(tenant=tenant, number=number, publisher=pub, name=v["name"],
                                start_date=v["start_date"], end_date=v["end_date"]))
            continue
        target = {"publisher_id": pub.pk if pub else None, "name": v["name"], "start_date": v["start_date"],
                  "end_date": v["end_date"]}
        if all(getattr(c, k) == val for k, val in target.items()):
            result.unchanged += 1
            continue
        before[c.pk] = snapshot(c)
        for k, val in target.items():
            setattr(c, k, val)
        changed.append(c)
    with transaction.atomic():
        Contract.objects.bulk_create(new, batch_size=1000)
        Contract.objects.bulk_update(changed, ["publisher", "name", "start_date", "end_date"], batch_size=1000)
        if not all(c.pk for c in new):  # backends without RETURNING: read the ids back
            ids = dict(Contract.objects.filter(tenant=tenant, number__in=[c.number for c in new])
                       .values_list("number", "pk"))
            for c in new:
                c.pk = ids[c.number]
        _audit_rows(tenant=tenant, actor=actor or "import_data", action="entitlements.contract.imported", objs=new)
        _audit_rows(tenant=tenant, actor=actor or "import_data", action="entitlements.contract.updated",
                    objs=changed, before=before)
    result.created, result.updated = len(new), len(changed)
    result.extra["affects_engine"] = False  # agreements alone change nothing the engine counts
    return result


ENTITLEMENT_COLUMNS = {
    "publisher": ("manufacturer", "vendor"),
    "product": ("title", "product name"),
    "version": (),
    "edition": (),
    "sku": ("part number", "mpn", "manufacturer part number", "article number"),
    "type": ("entitlement kind", "kind"),
    "license_model": ("license model",),
    "metric": (),
    "quantity": ("qty", "licenses"),
    "units": ("units per license",),
    "entitlement_type": ("term", "license type", "perpetual or subscription"),
    "start_date": ("start", "valid from"),
    "end_date": ("end", "valid to", "expiry"),
    "version_downgrade": ("downgrade",),
    "version_upgrade": ("upgrade",),
    "edition_downgrade": (),
    "multi_instance": (),
    "unit_cost": ("unit price", "price"),
    "currency": (),
    "status": (),
    "identifier": ("custom identifier", "license id", "entitlement id"),
    "contract_number": ("agreement number", "contract"),
    "invoice_number": ("invoice",),
    "po_number": ("purchase order", "po"),
    "supplier": ("reseller", "direct supplier"),
    "cost_center": ("cost centre",),
    "comments": ("comment", "notes"),
}

ROW_FIELDS = ("publisher", "product", "version", "edition", "sku", "type", "license_model", "metric", "quantity",
              "units", "entitlement_type", "start_date", "end_date", "version_downgrade", "version_upgrade",
              "edition_downgrade", "multi_instance", "unit_cost", "currency", "status", "contract_number",
              "invoice_number", "po_number", "supplier", "cost_center", "comments")
METRICS = {"device", "user", "core", "processor", "pvu", "ose", "concurrent", "other"}


def _row_key(values: dict[str, str]) -> str:
    ident = clean(values.get("identifier"))
    if ident:
        return f"id:{ident}"[:80]
    text = "\x1f".join(clean(values.get(f)).lower() for f in ROW_FIELDS)
    return "row:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _parse_entitlement(values: dict[str, str], date_fmt: str) -> dict[str, Any]:
    kind = clean(values.get("type")).lower() or EntitlementType.LICENSE
    if kind not in EntitlementType.values:
        raise RowError("type.invalid", f"{kind!r} is not license or maintenance", "type")
    term = clean(values.get("entitlement_type")).lower()
    if term in ("", "full"):
        term = Term.SUBSCRIPTION if kind == EntitlementType.MAINTENANCE else Term.PERPETUAL
    if term not in Term.values:
        raise RowError("entitlement_type.invalid", f"{term!r} is not perpetual or subscription", "entitlement_type")
    status = clean(values.get("status")).lower() or Status.DRAFT
    if status not in Status.values:
        raise RowError("status.invalid", f"{status!r} is not draft or published", "status")
    metric = clean(values.get("metric")).lower()
    if metric and metric not in METRICS:
        raise RowError("metric.invalid", f"{metric!r} is not a metric", "metric")
    quantity = parse_decimal(values.get("quantity"), column="quantity")
    if quantity is not None and quantity < 0:
        raise RowError("quantity.negative", "the quantity cannot be negative", "quantity")
    units = parse_decimal(values.get("units"), column="units")
    if units is not None and units <= 0:
        raise RowError("units.invalid", "units per license must be more than zero", "units")
    unit_cost = parse_decimal(values.get("unit_cost"), column="unit_cost")
    data: dict[str, Any] = {
        "type": kind, "term": term, "quantity": quantity,
        "start_date": parse_date(values.get("start_date"), fmt=date_fmt, column="start_date"),
        "end_date": parse_date(values.get("end_date"), fmt=date_fmt, column="end_date"),
        "unit_cost": unit_cost,
        "currency": clean(values.get("currency")).upper()[:3],
        "license_model": clean(values.get("license_model"))[:200],
        "identifier": clean(values.get("identifier"))[:100],
        "invoice_number": clean(values.get("invoice_number"))[:100],
        "po_number": clean(values.get("po_number"))[:100],
        "supplier": clean(values.get("supplier"))[:200],
        "cost_center": clean(values.get("cost_center"))[:64],
        "comments": clean(values.get("comments")),
    }
    if units is not None:
        data["units"] = units
    if metric:
        data["metric"] = metric
    for right, default in (("version_downgrade", True), ("version_upgrade", False), ("edition_downgrade", False),
                           ("multi_instance", False)):
        if clean(values.get(right)):
            data[right] = parse_bool(values.get(right), column=right)
        elif right == "version_downgrade" and not clean(values.get("sku")):
            data[right] = default
    return {"data": data, "status": status, "sku": clean(values.get("sku"))[:100],
            "product": tuple(clean(values.get(c)) for c in ("publisher", "product", "version", "edition")),
            "contract_number": clean(values.get("contract_number"))}


@register_kind("entitlements", columns=ENTITLEMENT_COLUMNS,
               description="An existing license inventory: product (four columns) or sku, quantity, term, rights, cost.")
def import_entitlements(*, tenant, rows, as_of, actor, job, profile, source, filename) -> ImportResult:
    from catalog.selectors import sku_resolve_many
    from catalog.services import products_get_or_create
    from entitlements.services import entitlements_create_many

    result = ImportResult(kind="entitlements", read=len(rows))
    date_fmt = getattr(profile, "date_format", "") or ""
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row_no, values in rows:
        try:
            item = _parse_entitlement(values, date_fmt)
            if not item["sku"] and not (item["product"][0] and item["product"][1]):
                raise RowError("product.missing", "give a sku or the publisher and product columns", "product")
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        key = _row_key(values)
        if key in seen and key.startswith("id:"):
            result.reject(row_no, "identifier.duplicate", f"the identifier appears again (row {seen[key]})",
                          "identifier")
            continue
        seen[key] = row_no
        parsed.append((row_no, key, item))
    if not parsed:
        return result
    # References, each resolved in bulk.
    skus = sku_resolve_many(tenant=tenant, part_numbers=[i["sku"] for _r, _k, i in parsed if i["sku"]])
    keys = {i["product"] for _r, _k, i in parsed if i["product"][0] and i["product"][1]}
    products = products_get_or_create(keys=keys, tenant=tenant) if keys else {}
    numbers = {i["contract_number"] for _r, _k, i in parsed if i["contract_number"]}
    contracts = {c.number.lower(): c for c in Contract.objects.filter(tenant=tenant, number__in=sorted(numbers))}
    existing_keys: dict[str, Entitlement] = {}
    for chunk in iter_chunks(sorted({k for _r, k, _i in parsed}), CHUNK):
        for e in Entitlement.objects.filter(tenant=tenant, import_key__in=chunk):
            existing_keys[e.import_key] = e
    to_create: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for row_no, key, item in parsed:
        data = dict(item["data"], import_key=key)
        if item["sku"]:
            res = skus.get(item["sku"])
            if res is None or res.sku is None:
                if not (item["product"][0] and item["product"][1]):
                    code = "sku.ambiguous" if res is not None and res.ambiguous else "sku.unknown"
                    result.reject(row_no, code, f"{item['sku']!r} is not in the catalog", "sku")
                    continue
            data["sku"] = item["sku"]
        if item["product"][0] and item["product"][1]:
            data["product"] = products[tuple(p.lower() for p in item["product"])]
        if item["contract_number"]:
            contract = contracts.get(item["contract_number"].lower())
            if contract is None:
                result.reject(row_no, "contract.unknown", f"agreement {item['contract_number']!r} is not known",
                              "contract_number")
                continue
            data["contract"] = contract
        if key in existing_keys:
            result.unchanged += 1  # imported before: a re-import changes nothing
            continue
        to_create[item["status"] == Status.PUBLISHED].append(data)
    actor = actor or "import_data"
    created = []
    for publish, batch in to_create.items():
        created += entitlements_create_many(tenant=tenant, actor=actor, rows=batch, publish=publish)
    result.created = len(created)
    not_published = sum(1 for e in created if e.import_key and e.status != Status.PUBLISHED and
                        e.import_key in {d["import_key"] for d in to_create[True]})
    if not_published:
        result.extra["kept_as_draft"] = not_published
        result.errors.append(f"{not_published} rows asked to be published but have validation errors; kept as drafts")
    return result
