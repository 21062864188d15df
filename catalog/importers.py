"""Importers of the catalog kinds (see docs/catalog.md for the columns).

``tenant=None`` writes the master catalog (staff, ``import_data KIND FILE`` without ``--tenant``);
a tenant writes its own amendments, which win over the master. Every importer works per chunk of
rows: parse and validate each row on its own (a bad row is reported with a reason code and written
not at all), resolve references with one query per chunk, then write the good rows in bulk.
Re-importing the same file changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models.functions import Lower, Upper
from django_scopes import scope

from catalog.expressions import ExpressionError, validate_expression
from catalog.models import (
    Assignment,
    AssignmentKind,
    BundleComponent,
    Classification,
    Confirmation,
    EditionRank,
    FingerprintRule,
    LicenseModel,
    LicenseType,
    Metric,
    ProcessorModel,
    ProductAssignment,
    ProductTerms,
    Rounding,
    Sku,
    TenantBundleComponent,
    TenantEditionRank,
    TenantFingerprintRule,
    TenantLicenseModel,
    TenantProcessorModel,
    TenantProductAssignment,
    TenantProductTerms,
    TenantSku,
)
from catalog.selectors import (
    TERMS_FIELDS,
    license_model_names_ci,
    normalise_part_number,
    product_key_lookup,
    product_terms_effective,
    skus_effective_many,
)
from catalog.services import products_get_or_create
from sam.hooks import hook_run
from sam.importing import (
    ImportResult,
    RowError,
    iter_chunks,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
    register_kind,
)
from sam.models import Tenant

CHUNK = 1000
Rows = list[tuple[int, dict[str, str]]]

PRODUCT_COLUMNS = {
    "publisher": ("manufacturer", "vendor"),
    "product": ("title", "product name"),
    "version": (),
    "edition": (),
}
RIGHTS = ("version_downgrade", "version_upgrade", "edition_downgrade")


# --- helpers --------------------------------------------------------------------------------------


def _choice(value: str, choices: type[models.TextChoices], *, column: str, default: str | None = None) -> str:
    """A choice by its value or label, ignoring case, spaces and hyphens."""
    text = (value or "").strip().lower()
    if not text:
        if default is None:
            raise RowError(f"{column}.missing", f"{column} is required", column)
        return default
    norm = text.replace(" ", "_").replace("-", "_")
    for val, label in choices.choices:
        if norm == val or text == str(label).lower():
            return val
    raise RowError(f"{column}.invalid", f"{value!r} is not one of {', '.join(choices.values)}", column)


def _required(row: dict[str, str], column: str, code: str | None = None) -> str:
    value = (row.get(column) or "").strip()
    if not value:
        raise RowError(code or f"{column}.missing", f"{column} is required", column)
    return value


def _product_key(row: dict[str, str], prefix: str = "") -> tuple[str, str, str, str]:
    title_column = "product" if prefix == "product_" else f"{prefix}product"
    publisher = (row.get(f"{prefix}publisher") or "").strip()
    title = (row.get(title_column) or "").strip()
    if not publisher:
        raise RowError(f"{prefix}publisher.missing", "the product's publisher is required", f"{prefix}publisher")
    if not title:
        raise RowError(f"{title_column}.missing", "the product's title is required", title_column)
    return (publisher, title, (row.get(f"{prefix}version") or "").strip(), (row.get(f"{prefix}edition") or "").strip())


def _lower(key: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p.lower() for p in key)


def _nonneg_int(row: dict[str, str], column: str) -> int | None:
    value = parse_int(row.get(column), column=column)
    if value is not None and value < 0:
        raise RowError("value.negative", f"{column} cannot be negative", column)
    return value


def _bool_or_none(row: dict[str, str], column: str) -> bool | None:
    text = (row.get(column) or "").strip()
    return None if text == "" else parse_bool(text, column=column)


def _values(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    return value


class Upsert:
    """Create-or-update model instances by a key, against the rows already stored (one query to load).

    ``add`` takes the new values of one key (later ones win); ``apply`` writes new rows with
    ``bulk_create`` and changed rows with ``bulk_update``, and returns the status of each key.
    This also works for keys with NULL columns, where the database's ON CONFLICT would not.
    """

    def __init__(self, model: type[models.Model], *, key: Callable[[Any], tuple], fields: list[str],
                 existing: Iterable[models.Model], fixed: dict[str, Any] | None = None):
        self.model, self.key, self.fields, self.fixed = model, key, fields, fixed or {}
        self.existing = {key(obj): obj for obj in existing}
        self.wanted: dict[tuple, dict[str, Any]] = {}

    def add(self, values: dict[str, Any]) -> tuple:
        probe = self.model(**self.fixed, **values)
        k = self.key(probe)
        self.wanted[k] = values
        return k

    def apply(self) -> dict[tuple, str]:
        status: dict[tuple, str] = {}
        create, update = [], []
        for k, values in self.wanted.items():
            obj = self.existing.get(k)
            if obj is None:
                create.append(self.model(**self.fixed, **values))
                status[k] = "created"
                continue
            if all(_norm(getattr(obj, f)) == _norm(values[f]) for f in self.fields if f in values):
                status[k] = "unchanged"
                continue
            for f in self.fields:
                if f in values:
                    setattr(obj, f, values[f])
            update.append(obj)
            status[k] = "updated"
        if create:
            self.model.objects.bulk_create(create, batch_size=500)
        if update:
            self.model.objects.bulk_update(update, [f for f in self.fields], batch_size=500)
        return status


def _count(result: ImportResult, statuses: Iterable[str]) -> None:
    for s in statuses:
        if s == "created":
            result.created += 1
        elif s == "updated":
            result.updated += 1
        else:
            result.unchanged += 1


def _finish(result: ImportResult, *, tenant: Tenant | None, actor: Any, kind: str) -> ImportResult:
    changed = bool(result.created or result.updated or result.deleted)
    result.extra["affects_engine"] = changed
    if tenant is not None and changed:
        from sam.audit import audit_record

        audit_record(tenant=tenant, actor=actor, action=f"catalog.import.{kind}", object_type="catalog.import",
                     object_repr=kind,
                     after={"read": result.read, "created": result.created, "updated": result.updated,
                            "rejected": result.rejected})
    return result


def _layer(tenant: Tenant | None, master: type[models.Model], mine: type[models.Model]):
    """The model and the fixed values of the table this import writes."""
    if tenant is None:
        return master, {}, master.objects.all()
    return mine, {"tenant": tenant}, mine.objects.filter(tenant=tenant)


def _parse_rows(rows: Rows, result: ImportResult, parse: Callable[[dict[str, str]], dict[str, Any]]
                ) -> list[tuple[int, dict[str, Any]]]:
    good = []
    for row_no, row in rows:
        result.read += 1
        try:
            good.append((row_no, parse(row)))
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
    return good


# --- license models -----------------------------------------------------------------------------


@register_kind("license_models", master=True, required=("name",), columns={
    "name": ("license model", "model name"),
    "assignment": ("license assignment",),
    "metric": (),
    "effective": ("effectiveness",),
    "quantity": ("expression", "quantity expression"),
    "rounding": (),
    "description": (),
}, description="License models: assignment, metric, effectiveness and the quantity expression.")
def import_license_models(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    """Create or update license models by name (case-insensitive); the expression must parse."""
    result = ImportResult(kind="license_models")
    model, fixed, existing = _layer(tenant, LicenseModel, TenantLicenseModel)
    fields = ["name", "assignment", "metric", "effective", "quantity", "rounding", "description"]

    def parse(row):
        values = {
            "name": _required(row, "name"),
            "assignment": _choice(row.get("assignment", ""), Assignment, column="assignment",
                                  default=Assignment.DEVICE),
            "metric": _choice(row.get("metric", ""), Metric, column="metric", default=Metric.DEVICE),
            "effective": parse_bool(row.get("effective"), default=True, column="effective"),
            "rounding": _choice(row.get("rounding", ""), Rounding, column="rounding", default=Rounding.CONSUMER),
        }
        try:
            values["quantity"] = validate_expression(row.get("quantity") or "1")
        except ExpressionError as exc:
            raise RowError("expression.invalid", str(exc), "quantity") from exc
        if "description" in row:
            values["description"] = row["description"]
        return values

    for chunk in iter_chunks(rows, CHUNK):
        good = _parse_rows(chunk, result, parse)
        if not good:
            continue
        with transaction.atomic():
            names = [v["name"].lower() for _n, v in good]
            ups = Upsert(model, key=lambda o: (o.name.lower(),), fields=fields, fixed=fixed,
                         existing=existing.annotate(_n=Lower("name")).filter(_n__in=names))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
    return _finish(result, tenant=tenant, actor=actor, kind="license_models")


# --- processors ---------------------------------------------------------------------------------------


@register_kind("processors", master=True, required=("model",), columns={
    "model": ("processor model", "processor", "cpu"),
    "core_factor": ("oracle core factor", "factor"),
    "pvu_per_core": ("pvu", "pvus per core", "ibm pvu"),
    "max_sockets": ("sockets", "max processors"),
}, description="Processor table: Oracle core factors and IBM PVUs per core by processor model.")
def import_processors(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    result = ImportResult(kind="processors")
    model, fixed, existing = _layer(tenant, ProcessorModel, TenantProcessorModel)

    def parse(row):
        factor = parse_decimal(row.get("core_factor"), column="core_factor")
        if factor is not None and factor <= 0:
            raise RowError("value.positive", "core_factor must be above 0", "core_factor")
        pvu = _nonneg_int(row, "pvu_per_core")
        if factor is None and pvu is None:
            raise RowError("processor.no_values", "give core_factor or pvu_per_core", "core_factor")
        sockets = _nonneg_int(row, "max_sockets")
        return {"model": _required(row, "model"), "core_factor": factor, "pvu_per_core": pvu,
                "max_sockets": sockets or None}

    for chunk in iter_chunks(rows, CHUNK):
        good = _parse_rows(chunk, result, parse)
        if not good:
            continue
        with transaction.atomic():
            ups = Upsert(model, key=lambda o: (o.model.lower(), o.max_sockets),
                         fields=["model", "core_factor", "pvu_per_core", "max_sockets"], fixed=fixed,
                         existing=existing.annotate(_m=Lower("model")).filter(
                             _m__in=[v["model"].lower() for _n, v in good]))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
    return _finish(result, tenant=tenant, actor=actor, kind="processors")


# --- editions ----------------------------------------------------------------------------------------


@register_kind("editions", master=True, required=("publisher", "product", "edition", "rank"), columns={
    "publisher": PRODUCT_COLUMNS["publisher"],
    "product": PRODUCT_COLUMNS["product"],
    "edition": (),
    "rank": ("edition rank", "level"),
}, description="Edition ranks: a higher rank covers lower ranks where edition downgrade is allowed.")
def import_editions(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    result = ImportResult(kind="editions")
    model, fixed, existing = _layer(tenant, EditionRank, TenantEditionRank)

    def parse(row):
        rank = parse_int(row.get("rank"), column="rank")
        if rank is None:
            raise RowError("rank.missing", "rank is required", "rank")
        return {"publisher": _required(row, "publisher"), "title": _required(row, "product"),
                "edition": _required(row, "edition"), "rank": rank}

    for chunk in iter_chunks(rows, CHUNK):
        good = _parse_rows(chunk, result, parse)
        if not good:
            continue
        with transaction.atomic():
            ups = Upsert(model, key=lambda o: (o.publisher.lower(), o.title.lower(), o.edition.lower()),
                         fields=["publisher", "title", "edition", "rank"], fixed=fixed,
                         existing=existing.annotate(_t=Lower("title")).filter(
                             _t__in=list({v["title"].lower() for _n, v in good})))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
    return _finish(result, tenant=tenant, actor=actor, kind="editions")


# --- catalog (products, terms, SKUs) -----------------------------------------------------------------


CATALOG_COLUMNS = {
    **PRODUCT_COLUMNS,
    "sku": ("part number", "partnumber", "mpn", "manufacturer part number", "article number", "sku number"),
    "sku_description": ("description", "sku name"),
    "license_type": ("type",),
    "license_model": ("model",),
    "units": ("units per sku", "pack size"),
    "term_months": ("term", "months"),
    "version_downgrade": ("downgrade",),
    "version_upgrade": ("upgrade",),
    "edition_downgrade": (),
    "release_date": ("released",),
    "min_entitlement_days": ("minimum entitlement days", "min entitlement period"),
    "confirmation": (),
    "second_copy": (),
    "multi_instance": (),
    "list_price": ("price",),
    "currency": (),
}


def _parse_catalog_row(row: dict[str, str], models_ci: dict[str, str]) -> dict[str, Any]:
    key = _product_key(row)
    out: dict[str, Any] = {"key": key, "sku": (row.get("sku") or "").strip()}
    model_text = (row.get("license_model") or "").strip()
    if model_text:
        if model_text.lower() not in models_ci:
            raise RowError("license_model.unknown", f"no license model named {model_text!r}", "license_model")
        out["license_model"] = models_ci[model_text.lower()]
    else:
        out["license_model"] = None
    out["release_date"] = parse_date(row.get("release_date"), column="release_date")
    out["terms"] = {}
    days = _nonneg_int(row, "min_entitlement_days")
    if days is not None:
        out["terms"]["min_entitlement_days"] = days
    if (row.get("confirmation") or "").strip():
        out["terms"]["confirmation"] = _choice(row["confirmation"], Confirmation, column="confirmation")
    for flag in (*RIGHTS, "second_copy", "multi_instance"):
        value = _bool_or_none(row, flag)
        if value is not None:
            out["terms"][flag] = value
    if out["sku"]:
        sku: dict[str, Any] = {"part_number": out["sku"]}
        if (row.get("sku_description") or "").strip():
            sku["description"] = row["sku_description"].strip()[:300]
        if (row.get("license_type") or "").strip():
            sku["license_type"] = _choice(row["license_type"], LicenseType, column="license_type")
        units = parse_decimal(row.get("units"), column="units")
        if units is not None:
            if units <= 0:
                raise RowError("value.positive", "units must be above 0", "units")
            sku["units"] = units
        months = _nonneg_int(row, "term_months")
        if months is not None:
            sku["term_months"] = months
        for flag in RIGHTS:
            if flag in out["terms"]:
                sku[flag] = out["terms"][flag]
        price = parse_decimal(row.get("list_price"), column="list_price")
        if price is not None:
            sku["list_price"] = price
        if (row.get("currency") or "").strip():
            currency = row["currency"].strip().upper()
            if len(currency) != 3 or not currency.isalpha():
                raise RowError("currency.invalid", f"{currency!r} is not an ISO currency code", "currency")
            sku["currency"] = currency
        if out["license_model"]:
            sku["license_model"] = out["license_model"]
        out["sku_values"] = sku
    elif any((row.get(c) or "").strip() for c in ("sku_description", "license_type", "units", "term_months")):
        raise RowError("sku.missing", "SKU columns are filled but the sku is empty", "sku")
    return out


SKU_DEFAULTS = {"description": "", "license_type": LicenseType.FULL, "license_model": "", "units": Decimal(1),
                "term_months": None, "version_downgrade": True, "version_upgrade": False, "edition_downgrade": False,
                "list_price": None, "currency": ""}
SKU_WRITE_FIELDS = ["part_number", "product_id", *SKU_DEFAULTS]


@register_kind("catalog", master=True, required=("publisher", "product"), columns=CATALOG_COLUMNS,
               description="Products, their use rights and SKUs (one row per SKU; a row without sku defines the product).")
def import_catalog(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    """Products, their terms and their SKUs.

    A row without ``sku`` defines the product and its terms (its ``license_model`` becomes the
    product's default). A row with a ``sku`` creates or updates the SKU (its ``license_model`` is the
    SKU's), sets the product's default license model if it has none yet, and the product's terms
    from the row. Empty cells keep what is stored (or take the default for a new row). A tenant's
    import writes its own SKUs and terms only where they differ from the master.
    """
    result = ImportResult(kind="catalog")
    models_ci = license_model_names_ci(tenant=tenant)
    sku_model, fixed, sku_existing = _layer(tenant, Sku, TenantSku)
    terms_model, _fixed, terms_existing = _layer(tenant, ProductTerms, TenantProductTerms)

    for chunk in iter_chunks(rows, CHUNK):
        good = _parse_rows(chunk, result, lambda row: _parse_catalog_row(row, models_ci))
        if not good:
            continue
        with transaction.atomic():
            created_products: set = set()
            dated_products: set = set()
            dates = {v["key"]: v["release_date"] for _n, v in good if v["release_date"]}
            products = products_get_or_create(keys=[v["key"] for _n, v in good], tenant=tenant, release_dates=dates,
                                              created=created_products, changed=dated_products)
            pids = sorted({products[_lower(v["key"])].pk for _n, v in good})
            effective_terms = product_terms_effective(tenant=tenant, product_ids=pids)

            # Terms: apply the rows in file order on top of the effective terms. A tenant's release date
            # of a shared product is part of its terms amendment (the master's product row stays as it is).
            terms_fields = list(TERMS_FIELDS) + (["release_date"] if tenant is not None else [])
            terms: dict[int, dict[str, Any]] = {pid: {f: getattr(effective_terms[pid], f) for f in terms_fields}
                                                for pid in pids}
            for _n, v in good:
                product = products[_lower(v["key"])]
                t = terms[product.pk]
                t.update(v["terms"])
                if v["license_model"] and (not v["sku"] or not t["default_license_model"]):
                    t["default_license_model"] = v["license_model"]
                if tenant is not None and v["release_date"] and product.introduced_by_id != tenant.pk:
                    effective_date = effective_terms[product.pk].release_date or product.release_date
                    if v["release_date"] != effective_date:
                        t["release_date"] = v["release_date"]
            stored_terms = {o.product_id: o for o in terms_existing.filter(product_id__in=pids)}
            ups_terms = Upsert(terms_model, key=lambda o: (o.product_id,), fields=terms_fields, fixed=fixed,
                               existing=stored_terms.values())
            for pid, values in terms.items():
                base = effective_terms[pid]
                differs = any(values[f] != getattr(base, f) for f in terms_fields)
                # A tenant writes an amendment only where it differs from what it already sees.
                if differs or pid in stored_terms or (tenant is None and not base.has_row):
                    ups_terms.add({"product_id": pid, **values})
            terms_status = ups_terms.apply()

            # SKUs
            sku_rows = [(n, v) for n, v in good if v["sku"]]
            sku_status: dict[tuple, str] = {}
            if sku_rows:
                pkeys = sorted({normalise_part_number(v["sku"]) for _n, v in sku_rows})
                # A tenant compares its rows with the master's SKUs of this chunk (one more query).
                master_skus = skus_effective_many(tenant=None, part_numbers=pkeys) if tenant is not None else {}
                stored = list(sku_existing.annotate(_p=Upper("part_number")).filter(_p__in=pkeys))
                ups_sku = Upsert(sku_model, key=lambda o: (normalise_part_number(o.part_number),),
                                 fields=SKU_WRITE_FIELDS, fixed=fixed, existing=stored)
                by_key = {normalise_part_number(o.part_number): o for o in stored}
                for _n, v in sku_rows:
                    k = normalise_part_number(v["sku"])
                    base_obj = by_key.get(k)
                    if base_obj is not None:
                        values = _values(base_obj, SKU_DEFAULTS)
                    elif k in master_skus:
                        values = _values(master_skus[k], SKU_DEFAULTS)
                    else:
                        values = dict(SKU_DEFAULTS)
                    pending = ups_sku.wanted.get((k,))
                    if pending:
                        values.update({f: pending[f] for f in SKU_DEFAULTS})
                    values.update(v["sku_values"])
                    values["product_id"] = products[_lower(v["key"])].pk
                    if base_obj is None and k in master_skus and tenant is not None:
                        master = master_skus[k]
                        if values["product_id"] == master.product_id and all(
                                _norm(values[f]) == _norm(getattr(master, f)) for f in SKU_DEFAULTS):
                            continue  # the same as the master's SKU: nothing to amend
                    ups_sku.add(values)
                sku_status = ups_sku.apply()

            for _n, v in good:
                pid = products[_lower(v["key"])].pk
                lkey = _lower(v["key"])
                statuses = [terms_status.get((pid,), "unchanged")]
                if v["sku"]:
                    statuses.append(sku_status.get((normalise_part_number(v["sku"]),), "unchanged"))
                if lkey in created_products or "created" in statuses[1:]:
                    _count(result, ["created"])
                elif "created" in statuses or "updated" in statuses or lkey in dated_products:
                    _count(result, ["updated"])
                else:
                    _count(result, ["unchanged"])
                created_products.discard(lkey)
                dated_products.discard(lkey)
    return _finish(result, tenant=tenant, actor=actor, kind="catalog")


# --- fingerprint rules ---------------------------------------------------------------------------------


@register_kind("fingerprints", master=True, required=("name",), columns={
    "publisher": ("installation publisher", "vendor", "manufacturer"),
    "name": ("display name", "installation name", "application"),
    "version": ("installation version",),
    "product_publisher": (),
    "product": ("product title", "product_title"),
    "product_version": (),
    "product_edition": (),
    "classification": ("class",),
}, description="Recognition rules: which product an installed application is, or that it is irrelevant.")
def import_fingerprints(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    """Recognition rules keyed by (publisher, name, version) patterns; recognition runs afterwards."""
    result = ImportResult(kind="fingerprints")
    model, fixed, existing = _layer(tenant, FingerprintRule, TenantFingerprintRule)

    def parse(row):
        values = {"publisher": (row.get("publisher") or "").strip() or "*", "name": _required(row, "name"),
                  "version": (row.get("version") or "").strip() or "*"}
        has_product = any((row.get(c) or "").strip() for c in ("product_publisher", "product"))
        text = (row.get("classification") or "").strip()
        classification = _choice(text, Classification, column="classification",
                                 default=Classification.PRODUCT if has_product else "")
        if not classification:
            raise RowError("product.missing", "give the product's four columns or classification=irrelevant",
                           "product")
        values["classification"] = classification
        values["product_key"] = _product_key(row, "product_") if classification == Classification.PRODUCT else None
        return values

    recognise_needed = False
    for chunk in iter_chunks(rows, CHUNK):
        parsed = _parse_rows(chunk, result, parse)
        lookup = product_key_lookup(tenant=tenant, keys=[v["product_key"] for _n, v in parsed if v["product_key"]])
        good = []
        for row_no, v in parsed:
            key = v.pop("product_key")
            if key is not None:
                product = lookup.get(_lower(key))
                if product is None:
                    result.reject(row_no, "product.unknown", f"no product {' '.join(p for p in key if p)!r} in the "
                                  "catalog (import it with the catalog kind first)", "product")
                    continue
                v["product_id"] = product.pk
            else:
                v["product_id"] = None
            good.append((row_no, v))
        if not good:
            continue
        with transaction.atomic():
            ups = Upsert(model, key=lambda o: (o.publisher.lower(), o.name.lower(), (o.version or "*").lower()),
                         fields=["publisher", "name", "version", "classification", "product_id"], fixed=fixed,
                         existing=existing.annotate(_n=Lower("name")).filter(
                             _n__in=list({v["name"].lower() for _n, v in good})))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
            recognise_needed = recognise_needed or any(s != "unchanged" for s in status.values())
    if recognise_needed:
        result.extra["recognised"] = _recognise_after_rules(tenant=tenant, actor=actor)
    # The rules matter to the engine only through recognition, whose hook recorded what it changed.
    result.extra["changed"] = {}
    return _finish(result, tenant=tenant, actor=actor, kind="fingerprints")


def _recognise_after_rules(*, tenant: Tenant | None, actor=None) -> int:
    """Re-run recognition where rules changed: the tenant, or (master rules) every tenant.

    Recognition belongs to inventory, which registers the ``recognition.rules_changed`` hook; it
    records the devices whose software changed product as change events for the engine.
    """
    if tenant is not None:
        return sum(hook_run("recognition.rules_changed", tenant=tenant, actor=actor))
    total = 0
    for other in Tenant.objects.all():
        with scope(tenant=other):
            total += sum(hook_run("recognition.rules_changed", tenant=other, actor=actor))
    return total


# --- assignments --------------------------------------------------------------------------------------


def _assignment_kind(kind_name: str, assignment_kind: str, key_column: str, key_synonyms: tuple[str, ...]):
    columns: dict[str, tuple[str, ...]] = {}
    if key_column:
        columns[key_column] = key_synonyms
    else:
        columns.update({"source_publisher": ("required by publisher",), "source_product": ("required by", "required by product"),
                        "source_version": ("required by version",), "source_edition": ("required by edition",)})
    columns.update(PRODUCT_COLUMNS)
    required = ((key_column,) if key_column else ("source_publisher", "source_product")) + ("publisher", "product")

    @register_kind(kind_name, master=True, required=required, columns=columns,
                   description=f"Product assignments by {assignment_kind}.")
    def importer(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
        result = ImportResult(kind=kind_name)
        model, fixed, existing = _layer(tenant, ProductAssignment, TenantProductAssignment)

        def parse(row):
            return {"key": _required(row, key_column) if key_column else "",
                    "product": _product_key(row), "source": None if key_column else _product_key(row, "source_")}

        for chunk in iter_chunks(rows, CHUNK):
            parsed = _parse_rows(chunk, result, parse)
            keys = [v["product"] for _n, v in parsed] + [v["source"] for _n, v in parsed if v["source"]]
            lookup = product_key_lookup(tenant=tenant, keys=keys)
            good = []
            for row_no, v in parsed:
                product = lookup.get(_lower(v["product"]))
                if product is None:
                    result.reject(row_no, "product.unknown", "the product is not in the catalog", "product")
                    continue
                source = None
                if v["source"]:
                    source = lookup.get(_lower(v["source"]))
                    if source is None:
                        result.reject(row_no, "source_product.unknown", "the requiring product is not in the catalog",
                                      "source_product")
                        continue
                good.append((row_no, {"kind": assignment_kind, "key": v["key"], "product_id": product.pk,
                                      "source_product_id": source.pk if source else None}))
            if not good:
                continue
            with transaction.atomic():
                ups = Upsert(model, key=lambda o: (o.kind, o.key.lower(), o.product_id, o.source_product_id),
                             fields=["kind", "key", "product_id", "source_product_id"], fixed=fixed,
                             existing=existing.filter(kind=assignment_kind, product_id__in=[v["product_id"] for _n, v in good]))
                ks = [ups.add(v) for _n, v in good]
                status = ups.apply()
                _count(result, (status[k] for k in ks))
        return _finish(result, tenant=tenant, actor=actor, kind=kind_name)

    importer.__name__ = f"import_{kind_name}"
    return importer


import_group_assignments = _assignment_kind("group_assignments", AssignmentKind.GROUP, "group",
                                            ("group name", "ad group", "groupname"))
import_executables = _assignment_kind("executables", AssignmentKind.EXECUTABLE, "executable",
                                      ("exe", "program", "file name"))
import_services = _assignment_kind("services", AssignmentKind.SERVICE, "service", ("service name", "booking"))
import_dependency_rules = _assignment_kind("dependency_rules", AssignmentKind.DEPENDENCY, "", ())


# --- bundles (suites) ------------------------------------------------------------------------------

BUNDLE_COLUMNS = {
    "suite_publisher": ("suite manufacturer", "bundle publisher"),
    "suite_product": ("suite", "suite title", "bundle", "bundle product"),
    "suite_version": ("bundle version",),
    "suite_edition": ("bundle edition",),
    **PRODUCT_COLUMNS,
}


@register_kind("bundles", master=True, required=("suite_publisher", "suite_product", "publisher", "product"),
               columns=BUNDLE_COLUMNS,
               description="Suites and their components, one component a row: the suite's four columns prefixed "
                           "`suite_`, then the component's four columns. A license of the suite covers each "
                           "component. With `--tenant` the rows are the tenant's amendment: its components of a "
                           "suite replace the master's for that suite. Both products must be in the catalog.")
def import_bundles(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    result = ImportResult(kind="bundles")
    model, fixed, existing = _layer(tenant, BundleComponent, TenantBundleComponent)

    def parse(row):
        return {"suite": _product_key(row, "suite_"), "component": _product_key(row)}

    for chunk in iter_chunks(rows, CHUNK):
        parsed = _parse_rows(chunk, result, parse)
        lookup = product_key_lookup(tenant=tenant, keys=[v["suite"] for _n, v in parsed]
                                    + [v["component"] for _n, v in parsed])
        good = []
        for row_no, v in parsed:
            suite, component = lookup.get(_lower(v["suite"])), lookup.get(_lower(v["component"]))
            if suite is None:
                result.reject(row_no, "suite_product.unknown", "the suite is not in the catalog", "suite_product")
            elif component is None:
                result.reject(row_no, "product.unknown", "the component is not in the catalog", "product")
            elif suite.pk == component.pk:
                result.reject(row_no, "bundle.self", "a suite cannot contain itself", "product")
            else:
                good.append((row_no, {"bundle_id": suite.pk, "component_id": component.pk}))
        if not good:
            continue
        with transaction.atomic():
            ups = Upsert(model, key=lambda o: (o.bundle_id, o.component_id), fields=["bundle_id", "component_id"],
                         fixed=fixed, existing=existing.filter(bundle_id__in={v["bundle_id"] for _n, v in good}))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
    return _finish(result, tenant=tenant, actor=actor, kind="bundles")


# --- SKU aliases ----------------------------------------------------------------------------------


@register_kind("sku_aliases", master=True, required=("alias", "sku"), columns={
    "alias": ("reseller part number", "supplier part number", "reseller sku", "alias part number"),
    "sku": ("catalog sku", "part number", "mpn", "manufacturer part number"),
    "supplier": ("reseller", "vendor"),
}, description="SKU aliases: a reseller's part number that means a catalog SKU, optionally only for one supplier. "
               "Without --tenant the clearing service's alias library (every tenant, below its own aliases).")
def import_sku_aliases(*, tenant, rows: Rows, actor=None, **_kw) -> ImportResult:
    """Create or update aliases by (alias, supplier), ignoring case; the SKU must be in the catalog.

    Without a tenant this writes the alias library (master SKUs only); with one, that tenant's aliases.
    Waiting purchase lines are checked again through ``catalog.aliases.aliases_changed``.
    """
    from catalog.aliases import _supplier_key, aliases_changed
    from catalog.models import SkuAlias, TenantSkuAlias

    result = ImportResult(kind="sku_aliases")
    model, fixed, existing = _layer(tenant, SkuAlias, TenantSkuAlias)
    touched: list[str] = []

    def parse(row):
        values = {"alias": _required(row, "alias"), "part_number": _required(row, "sku"),
                  "supplier": (row.get("supplier") or "").strip()[:200]}
        if len(values["alias"]) > 100:
            raise RowError("alias.too_long", "the alias has more than 100 characters", "alias")
        if normalise_part_number(values["alias"]) == normalise_part_number(values["part_number"]):
            raise RowError("alias.self", "a part number cannot be an alias of itself", "alias")
        return values

    for chunk in iter_chunks(rows, CHUNK):
        parsed = _parse_rows(chunk, result, parse)
        targets = skus_effective_many(tenant=tenant, part_numbers=[v["part_number"] for _n, v in parsed])
        good = []
        for row_no, v in parsed:
            sku = targets.get(normalise_part_number(v["part_number"]))
            if sku is None:
                result.reject(row_no, "sku.unknown", f"{v['part_number']!r} is not a SKU of the catalog", "sku")
                continue
            good.append((row_no, {**v, "part_number": sku.part_number}))
        if not good:
            continue
        with transaction.atomic():
            names = sorted({v["alias"].upper() for _n, v in good})
            ups = Upsert(model, key=lambda o: (normalise_part_number(o.alias), _supplier_key(o.supplier)),
                         fields=["alias", "part_number", "supplier"], fixed=fixed,
                         existing=existing.annotate(_a=Upper("alias")).filter(_a__in=names))
            keys = [ups.add(v) for _n, v in good]
            status = ups.apply()
            _count(result, (status[k] for k in keys))
            touched += [v["alias"] for (_n, v), k in zip(good, keys, strict=True) if status[k] != "unchanged"]
    result = _finish(result, tenant=tenant, actor=actor, kind="sku_aliases")
    result.extra["affects_engine"] = False  # aliases only translate incoming purchase lines
    if touched:
        aliases_changed(tenant=tenant, aliases=sorted(set(touched)), actor=actor)
    return result
