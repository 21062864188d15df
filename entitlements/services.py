"""Writing the license inventory: entitlements, agreements, repositories, documents and keys.

Every function here is the single path for its action: the editor, the list's bulk actions, the
importers, receiving's transfer and the tasks call them. Each one validates, writes the audit row
in the same transaction and asks for a recompute when the change affects what the engine counts.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from entitlements.models import (
    PAYMENT_PERIOD_MONTHS,
    Contract,
    Document,
    Entitlement,
    EntitlementType,
    LicenseKey,
    ManagementGroup,
    PaymentFrequency,
    Repository,
    State,
    Status,
    Term,
)
from sam.audit import audit_record, snapshot
from sam.bulk import bulk_insert, instance_factory
from sam.models import AuditEvent, Tenant

EXPIRY_WARNING_DAYS = 90
CENT = Decimal("0.01")

# Stable codes, the plain message shown next to them. Errors block publishing; warnings do not.
ERRORS: dict[str, Any] = {
    "product.missing": _("Choose a product from the catalog or enter at least a title."),
    "quantity.missing": _("Enter a quantity, or mark the entitlement as unlimited."),
    "dates.end_before_start": _("The end date lies before the start date."),
    "term.subscription_without_end": _("A subscription needs an end date (or a duration)."),
    "proof.missing": _("This tenant requires proof of purchase: give an invoice or order number, link a "
                       "purchase line or attach a document."),
}
WARNINGS: dict[str, Any] = {
    "cost.missing": _("No unit cost: the entitlement will not appear in spend figures."),
    "term.expiring": _("The term ends within 90 days."),
    "term.expired": _("The term has already ended."),
    "contract.missing": _("Not linked to an agreement."),
    "product.not_in_catalog": _("The product is not in the catalog; the engine cannot count it until it is."),
}

# Changing one of these on a published entitlement changes what the engine counts.
COUNTING_FIELDS = ("product_id", "quantity", "units", "unlimited", "start_date", "end_date", "metric",
                   "license_model", "repository_id", "status", "state", "version_downgrade", "version_upgrade",
                   "edition_downgrade", "type", "term")

# Fields a chosen SKU decides; the editor locks them while the SKU is set.
SKU_LOCKED_FIELDS = ("product", "vendor", "title", "version", "edition", "license_model", "metric", "units", "term")


class EntitlementError(Exception):
    """A business rule refused the action; the message is meant for the user."""


class EntitlementInvalid(EntitlementError):
    """Publishing was refused because the entitlement has validation errors."""

    def __init__(self, entitlement: Entitlement):
        self.entitlement = entitlement
        super().__init__(_("Cannot publish: %(errors)s") % {"errors": ", ".join(entitlement.errors)})


class EntitlementChanged(EntitlementError):
    """Withdrawing was refused because a person changed the entitlement after it was created."""

    def __init__(self, entitlement: Entitlement):
        self.entitlement = entitlement
        super().__init__(_("Entitlement #%(pk)s was changed after its transfer and cannot be withdrawn.")
                         % {"pk": entitlement.pk})


def message_for(code: str) -> str:
    """The plain message for a validation code (the code itself when unknown)."""
    return str(ERRORS.get(code) or WARNINGS.get(code) or code)


# ---------------------------------------------------------------------------------------------
# Arithmetic (pure; the editor's HTMX calls it too)


def end_date_for(*, start: dt.date, months: int) -> dt.date:
    """The end date ``months`` calendar months after ``start``; month ends clamp (31 Jan + 1 → 28/29 Feb)."""
    return start + relativedelta(months=months)


def duration_for(*, start: dt.date, end: dt.date) -> int | None:
    """Whole months from ``start`` to ``end``, a started month counting as a full one; None if end < start."""
    if end < start:
        return None
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    while months > 0 and end_date_for(start=start, months=months - 1) >= end:
        months -= 1
    return months


def payments_for(*, frequency: str, term: str, duration_months: int | None) -> int:
    """How many payments the license cost covers.

    Once: one payment. A recurring payment over a subscription of known length: one per started
    period (12 months paid quarterly = 4). A recurring payment without an end (perpetual with a
    maintenance-like fee): the payments of one year, so the cost reads as a yearly figure.
    """
    period = PAYMENT_PERIOD_MONTHS.get(frequency)
    if not period:
        return 1
    if term == Term.SUBSCRIPTION and duration_months:
        return max(1, math.ceil(duration_months / period))
    return 12 // period


def cost_for(*, quantity: Decimal | None, units: Decimal | None, unlimited: bool, unit_cost: Decimal | None,
             frequency: str = PaymentFrequency.ONCE, term: str = Term.PERPETUAL,
             duration_months: int | None = None) -> Decimal | None:
    """License cost = quantity × units × unit cost × payments; an unlimited entitlement costs unit cost × payments."""
    if unit_cost is None:
        return None
    if unlimited:
        total = Decimal(1)
    elif quantity is None:
        return None
    else:
        total = Decimal(quantity) * Decimal(units if units is not None else 1)
    payments = payments_for(frequency=frequency, term=term, duration_months=duration_months)
    return (total * Decimal(unit_cost) * payments).quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Derivation and validation


def _derive(ent: Entitlement) -> None:
    """Fill the computed fields of one entitlement in memory (no queries beyond its loaded product)."""
    if ent.type == EntitlementType.MAINTENANCE:
        ent.term = Term.SUBSCRIPTION  # a maintenance always runs for a term
    if ent.product_id and ent.product is not None:
        ent.vendor = ent.product.publisher.name
        ent.title = ent.product.title
        ent.version = ent.product.version
        ent.edition = ent.product.edition
    if ent.term == Term.SUBSCRIPTION and ent.start_date:
        if ent.end_date:
            ent.duration_months = duration_for(start=ent.start_date, end=ent.end_date)
        elif ent.duration_months:
            ent.end_date = end_date_for(start=ent.start_date, months=ent.duration_months)
    if ent.term == Term.PERPETUAL:
        ent.duration_months = None
    if ent.metric != "other":
        ent.other_metric = ""
    if ent.unlimited:
        ent.quantity = None
    if ent.units in (None, ""):
        ent.units = Decimal(1)
    ent.cost = cost_for(quantity=ent.quantity, units=ent.units, unlimited=ent.unlimited, unit_cost=ent.unit_cost,
                        frequency=ent.payment_frequency, term=ent.term, duration_months=ent.duration_months)


def _check(ent: Entitlement, *, require_proof: bool, has_documents: bool, today: dt.date) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    if not ent.product_id and not (ent.title or "").strip():
        errors.append("product.missing")
    if not ent.unlimited and ent.quantity is None:
        errors.append("quantity.missing")
    if ent.start_date and ent.end_date and ent.end_date < ent.start_date:
        errors.append("dates.end_before_start")
    if ent.term == Term.SUBSCRIPTION and not ent.end_date:
        errors.append("term.subscription_without_end")
    if require_proof and not (ent.invoice_number or ent.po_number or ent.purchase_line_id or ent.licensor_number
                              or has_documents):
        errors.append("proof.missing")
    if ent.unit_cost is None:
        warnings.append("cost.missing")
    if ent.end_date and ent.end_date >= today and ent.end_date <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
        warnings.append("term.expiring")
    elif ent.end_date and ent.end_date < today:
        warnings.append("term.expired")
    if not ent.contract_id:
        warnings.append("contract.missing")
    if not ent.product_id and (ent.title or "").strip():
        warnings.append("product.not_in_catalog")
    return errors, warnings


def _state(ent: Entitlement) -> str:
    if ent.status == Status.PUBLISHED:
        return State.INVALID if ent.errors else State.PUBLISHED
    if ent.errors:
        return State.DRAFT_ERRORS
    if ent.warnings:
        return State.DRAFT_WARNINGS
    return State.DRAFT


def _requires_proof(tenant: Tenant) -> bool:
    return bool(tenant.setting("entitlements_require_proof", False))


def _apply_validation(ent: Entitlement, *, require_proof: bool, has_documents: bool,
                      today: dt.date | None = None) -> None:
    _derive(ent)
    ent.errors, ent.warnings = _check(ent, require_proof=require_proof, has_documents=has_documents,
                                      today=today or timezone.localdate())
    ent.state = _state(ent)


def entitlement_validate(*, entitlement: Entitlement) -> tuple[list[str], list[str]]:
    """Check one entitlement and store the outcome on it (``errors``, ``warnings``, ``state``, derived fields).

    Returns ``(errors, warnings)`` as stable codes (see ``ERRORS``/``WARNINGS``; ``message_for(code)``
    gives the text). Errors block publishing, warnings do not. A saved entitlement is updated in the
    database; an unsaved one only in memory.
    """
    has_documents = bool(entitlement.pk) and entitlement.documents.exists()
    _apply_validation(entitlement, require_proof=_requires_proof(entitlement.tenant), has_documents=has_documents)
    if entitlement.pk:
        Entitlement.objects.filter(pk=entitlement.pk).update(
            errors=entitlement.errors, warnings=entitlement.warnings, state=entitlement.state)
    return list(entitlement.errors), list(entitlement.warnings)


# ---------------------------------------------------------------------------------------------
# Helpers


def repository_default(*, tenant: Tenant) -> Repository:
    """The tenant's Default repository (created on first use)."""
    repo = Repository.objects.filter(tenant=tenant, is_default=True).first()
    if repo is None:
        repo, _created = Repository.objects.get_or_create(tenant=tenant, is_default=True,
                                                          defaults={"name": "Default"})
    return repo


def _recompute(*, tenant: Tenant, reason: str, actor: Any) -> None:
    """Ask the engine to recompute once the surrounding transaction has committed."""
    from requirements_engine.services import recompute_request

    transaction.on_commit(lambda: recompute_request(tenant=tenant, reason=reason, actor=actor))


def _affects_counting(before: dict, after: dict) -> bool:
    counted_before = before.get("status") == Status.PUBLISHED
    counted_after = after.get("status") == Status.PUBLISHED
    if counted_before != counted_after:
        return True
    if not (counted_before or counted_after):
        return False
    return any(before.get(f) != after.get(f) for f in COUNTING_FIELDS)


def _is_person(actor: Any) -> bool:
    return hasattr(actor, "pk") and hasattr(actor, "username")


FK_FIELDS = {"product": Product, "contract": Contract, "repository": Repository,
             "management_group": ManagementGroup, "upgrades": Entitlement, "supersedes": Entitlement}
EDITABLE_FIELDS = {f.name for f in Entitlement._meta.concrete_fields} - {
    "id", "tenant", "errors", "warnings", "state", "cost", "created_at", "updated_at", "created_by",
    "modified_by_user", "published_at", "status"}


def _assign(ent: Entitlement, data: dict[str, Any]) -> None:
    """Set model fields from ``data`` (instances or ids for foreign keys); unknown keys are ignored."""
    for key, value in data.items():
        if key in ("covers", "license_keys", "status"):
            continue
        name = key[:-3] if key.endswith("_id") and key[:-3] in FK_FIELDS | {"purchase_line": None} else key
        if name not in EDITABLE_FIELDS:
            continue
        if name in FK_FIELDS or name == "purchase_line":
            if value is None or value == "":
                setattr(ent, f"{name}_id", None)
                if name in FK_FIELDS:
                    setattr(ent, name, None)
            elif hasattr(value, "pk"):
                setattr(ent, name, value)
            else:
                setattr(ent, f"{name}_id", int(value))
            continue
        if name in ("quantity", "units", "unit_cost") and value not in (None, ""):
            value = Decimal(str(value))
        elif name.endswith("_date") and isinstance(value, str):
            value = dt.date.fromisoformat(value[:10]) if value.strip() else None
        elif value == "" and name in ("quantity", "unit_cost", "duration_months"):
            value = None
        if value is None and name not in ("quantity", "unit_cost", "start_date", "end_date", "duration_months",
                                          "invoice_date", "po_date", "supplier_date", "internal_order_date",
                                          "licensor_date", "audit_frequency_months", "audit_notice_days"):
            continue
        setattr(ent, name, value)


def sku_defaults(*, tenant: Tenant, part_numbers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The entitlement fields each SKU decides (product, license model, metric, units, term, rights).

    Set-based: resolves every part number (and alias) in a fixed number of queries. Unknown SKUs are
    left out of the result.
    """
    from catalog.selectors import license_models_effective, sku_resolve_many

    numbers = [p for p in dict.fromkeys(part_numbers) if p]
    if not numbers:
        return {}
    resolved = sku_resolve_many(tenant=tenant, part_numbers=numbers)
    products = Product.objects.select_related("publisher").in_bulk(
        {r.sku.product_id for r in resolved.values() if r.sku is not None})
    models = None
    out: dict[str, dict[str, Any]] = {}
    for text, res in resolved.items():
        sku = res.sku
        if sku is None or sku.product_id not in products:
            continue
        product = products[sku.product_id]
        values: dict[str, Any] = {
            "product": product, "vendor": product.publisher.name, "title": product.title,
            "version": product.version, "edition": product.edition, "license_model": sku.license_model,
            "units": sku.units, "version_downgrade": sku.version_downgrade, "version_upgrade": sku.version_upgrade,
            "edition_downgrade": sku.edition_downgrade,
            "term": Term.SUBSCRIPTION if sku.license_type in ("subscription", "maintenance") else Term.PERPETUAL,
            "sku": sku.part_number,
        }
        if sku.license_type == "maintenance":
            values["type"] = EntitlementType.MAINTENANCE
        if sku.term_months:
            values["duration_months"] = sku.term_months
        if sku.license_model:
            if models is None:
                models = {k.lower(): v for k, v in license_models_effective(tenant=tenant).items()}
            model = models.get(sku.license_model.lower())
            if model is not None:
                values["metric"] = model.metric
        out[text] = values
    return out


def _snapshot(ent: Entitlement) -> dict[str, Any]:
    return snapshot(ent)


_AUDITED = [(f.name, f.attname) for f in Entitlement._meta.concrete_fields if f.name != "tenant"]


_TYPE_LABELS = dict(EntitlementType.choices)


def _repr(ent: Entitlement) -> str:
    """``str(ent)`` without its per-call choice lookup and product formatting (a bulk writes 100,000)."""
    if ent.identifier:
        label = ent.identifier
    elif ent.product_id:
        product = ent._state.fields_cache.get("product")
        label = str(product) if product is not None else str(ent.product)
    else:
        label = ent.title or ent.sku
    return f"{_TYPE_LABELS.get(ent.type, ent.type)} #{ent.pk} {label}"


def _compact(ent: Entitlement) -> dict[str, Any]:
    """A creation snapshot without empty fields, as plain JSON values (bulk transfers write 100,000)."""
    out: dict[str, Any] = {}
    values = ent.__dict__
    for name, attname in _AUDITED:
        value = values.get(attname)
        if value is None or value == "" or value is False or value == []:
            continue
        if isinstance(value, (dt.date, Decimal)):
            value = value.isoformat() if isinstance(value, dt.date) else str(value)
        out[name] = value
    return out


# ---------------------------------------------------------------------------------------------
# Entitlements: create, update, lifecycle


def _new_entitlement(*, tenant: Tenant, actor: Any, data: dict[str, Any], sku_values: dict[str, Any] | None,
                     repository: Repository) -> Entitlement:
    ent = Entitlement(tenant=tenant, repository=repository, created_by=actor if _is_person(actor) else None)
    ent.start_date = timezone.localdate()
    if sku_values:
        given = set(data)
        _assign(ent, {k: v for k, v in sku_values.items() if k not in given})
        ent.from_sku = "product" not in given or data.get("product") in (None, "")
    _assign(ent, data)
    if "start_date" in data and data["start_date"] is None:
        ent.start_date = None
    if ent.product_id and (ent.product is None or ent.product.pk != ent.product_id):
        ent.product = Product.objects.select_related("publisher").get(pk=ent.product_id)
    return ent


def entitlement_create(*, tenant: Tenant, actor: Any, data: dict[str, Any], publish: bool = False) -> Entitlement:
    """Create one license or maintenance entitlement from model field values and validate it.

    ``data`` keys are ``Entitlement`` field names; foreign keys take an instance or an id (``product``,
    ``contract``, ``purchase_line``, ``repository`` (default: the tenant's Default repository),
    ``management_group``, ``upgrades``, ``supersedes``); ``covers`` (a maintenance) takes licenses or
    ids. A ``sku`` that resolves in the catalog fills the fields it decides unless ``data`` gives them.
    With ``publish=True`` the entitlement is published when it has no errors; otherwise it stays a
    draft carrying its errors. Audited; a published one requests a recompute.
    """
    sku_values = sku_defaults(tenant=tenant, part_numbers=[data["sku"]]).get(data["sku"]) if data.get("sku") else None
    repository = data.get("repository") or repository_default(tenant=tenant)
    if not hasattr(repository, "pk"):
        repository = Repository.objects.get(pk=repository)
    ent = _new_entitlement(tenant=tenant, actor=actor, data=data, sku_values=sku_values, repository=repository)
    _apply_validation(ent, require_proof=_requires_proof(tenant), has_documents=False)
    if publish and not ent.errors:
        ent.status = Status.PUBLISHED
        ent.published_at = timezone.now()
        ent.state = _state(ent)
    with transaction.atomic():
        ent.save()
        if data.get("covers"):
            ent.covers.set(data["covers"])
        for key in data.get("license_keys") or ():
            LicenseKey.objects.create(tenant=tenant, entitlement=ent, key=str(key))
        audit_record(tenant=tenant, actor=actor, action="entitlements.entitlement.created", obj=ent,
                     after=_snapshot(ent))
        if ent.status == Status.PUBLISHED:
            _recompute(tenant=tenant, reason="entitlement published", actor=actor)
    return ent


def entitlements_create_many(*, tenant: Tenant, actor: Any, rows: list[dict[str, Any]], publish: bool,
                             batch_size: int = 2000, recompute: bool = True) -> list[Entitlement]:
    """Create many entitlements set-based (receiving's transfer, the importer).

    Same rules as :func:`entitlement_create` (SKU prefill, validation, publish only when valid) with a
    fixed number of queries per batch: products, contracts and SKUs are resolved in bulk, rows are
    written with ``bulk_create`` and one audit row per entitlement is bulk-inserted. ``covers`` and
    ``license_keys`` are not supported here. Returns the entitlements in input order, with their ids.
    ``recompute=False`` leaves the recompute to a caller that creates in several chunks and asks once.
    """
    if not rows:
        return []
    repository_default_ = repository_default(tenant=tenant)
    require_proof = _requires_proof(tenant)
    today = timezone.localdate()
    now = timezone.now()
    sku_values = sku_defaults(tenant=tenant, part_numbers=[r["sku"] for r in rows if r.get("sku")])
    product_ids = {int(r["product"]) for r in rows if r.get("product") not in (None, "") and not hasattr(r["product"], "pk")}
    product_ids |= {int(r["product_id"]) for r in rows if r.get("product_id")}
    products = Product.objects.select_related("publisher").in_bulk(product_ids) if product_ids else {}
    repo_ids = {int(r["repository"]) for r in rows if r.get("repository") and not hasattr(r["repository"], "pk")}
    repos = Repository.objects.filter(tenant=tenant).in_bulk(repo_ids) if repo_ids else {}
    built: list[Entitlement] = []
    user = actor if _is_person(actor) else None
    # Copies of one prototype: Model.__init__ per row was the largest cost of a 100,000-line transfer.
    new_entitlement = instance_factory(
        Entitlement(tenant=tenant, repository=repository_default_, created_by=user, start_date=today))
    for data in rows:
        ent = new_entitlement()
        values = sku_values.get(data.get("sku") or "")
        if values:
            given = set(data)
            _assign(ent, {k: v for k, v in values.items() if k not in given})
            ent.from_sku = "product" not in given or data.get("product") in (None, "")
        clean = dict(data)
        for key in ("product", "product_id"):
            pid = clean.get(key)
            if pid not in (None, "") and not hasattr(pid, "pk"):
                clean.pop(key)
                clean["product"] = products.get(int(pid))
                if clean["product"] is None:
                    raise ValueError(f"unknown product id {pid}")
        repo = clean.pop("repository", None)
        _assign(ent, clean)
        if repo:
            ent.repository = repo if hasattr(repo, "pk") else repos[int(repo)]
        if "start_date" in data and data["start_date"] is None:
            ent.start_date = None
        _apply_validation(ent, require_proof=require_proof, has_documents=False, today=today)
        if publish and not ent.errors:
            ent.status = Status.PUBLISHED
            ent.published_at = now
            ent.state = _state(ent)
        built.append(ent)
    label = AuditEvent._meta.get_field("actor_label").max_length
    from sam.audit import actor_label

    new_event = instance_factory(AuditEvent(tenant=tenant, actor=user, actor_label=actor_label(actor)[:label],
                                            action="entitlements.entitlement.created",
                                            object_type=Entitlement._meta.label_lower, at=now))
    with transaction.atomic():
        for start in range(0, len(built), batch_size):
            chunk = built[start:start + batch_size]
            bulk_insert(Entitlement, chunk)
            events = []
            for e in chunk:
                event = new_event()
                event.object_id, event.object_repr, event.after = str(e.pk), _repr(e)[:300], _compact(e)
                events.append(event)
            bulk_insert(AuditEvent, events)
        if recompute and any(e.status == Status.PUBLISHED for e in built):
            _recompute(tenant=tenant, reason=f"{len(built)} entitlements created", actor=actor)
    return built


def entitlement_update(*, entitlement: Entitlement, actor: Any, data: dict[str, Any]) -> Entitlement:
    """Change fields of an entitlement, revalidate it and audit the change.

    A published entitlement stays published only while it has no errors; if the change introduces
    errors it shows as invalid (and is no longer counted) until fixed or moved to draft.
    """
    ent = entitlement
    before = _snapshot(ent)
    _assign(ent, data)
    if ent.product_id and (ent.product is None or ent.product.pk != ent.product_id):
        ent.product = Product.objects.select_related("publisher").get(pk=ent.product_id)
    if _is_person(actor):
        ent.modified_by_user = True
    with transaction.atomic():
        if "covers" in data:
            ent.covers.set(data["covers"] or [])
        has_documents = ent.documents.exists()
        _apply_validation(ent, require_proof=_requires_proof(ent.tenant), has_documents=has_documents)
        ent.save()
        after = _snapshot(ent)
        audit_record(tenant=ent.tenant, actor=actor, action="entitlements.entitlement.updated", obj=ent,
                     before=before, after=after)
        if _affects_counting(before, after):
            _recompute(tenant=ent.tenant, reason="entitlement changed", actor=actor)
    return ent


def entitlement_save(*, entitlement: Entitlement, actor: Any, data: dict[str, Any], publish: bool) -> Entitlement:
    """The editor's save: create or update, then publish (``publish=True``) or keep/move to draft.

    Publishing an entitlement with errors raises :class:`EntitlementInvalid` *after* the values were
    saved as a draft, so nothing the user typed is lost.
    """
    if entitlement.pk is None:
        ent = entitlement_create(tenant=entitlement.tenant, actor=actor, data=data, publish=False)
    else:
        ent = entitlement_update(entitlement=entitlement, actor=actor, data=data)
    if publish:
        return entitlement_publish(entitlement=ent, actor=actor)
    if ent.status == Status.PUBLISHED:
        return entitlement_unpublish(entitlement=ent, actor=actor)
    return ent


def entitlement_publish(*, entitlement: Entitlement, actor: Any) -> Entitlement:
    """Publish a draft so it counts; refuses (``EntitlementInvalid``) while it has validation errors."""
    ent = entitlement
    entitlement_validate(entitlement=ent)
    if ent.errors:
        raise EntitlementInvalid(ent)
    if ent.status == Status.PUBLISHED and ent.state == State.PUBLISHED:
        return ent
    before = _snapshot(ent)
    ent.status = Status.PUBLISHED
    ent.published_at = timezone.now()
    ent.state = _state(ent)
    if _is_person(actor):
        ent.modified_by_user = True
    with transaction.atomic():
        ent.save(update_fields=["status", "published_at", "state", "modified_by_user", "updated_at"])
        audit_record(tenant=ent.tenant, actor=actor, action="entitlements.entitlement.published", obj=ent,
                     before={"status": before["status"]}, after={"status": ent.status})
        _recompute(tenant=ent.tenant, reason="entitlement published", actor=actor)
    return ent


def entitlement_unpublish(*, entitlement: Entitlement, actor: Any) -> Entitlement:
    """Move a published entitlement back to draft: it stops counting until published again."""
    ent = entitlement
    if ent.status != Status.PUBLISHED:
        return ent
    ent.status = Status.DRAFT
    ent.state = _state(ent)
    if _is_person(actor):
        ent.modified_by_user = True
    with transaction.atomic():
        ent.save(update_fields=["status", "state", "modified_by_user", "updated_at"])
        audit_record(tenant=ent.tenant, actor=actor, action="entitlements.entitlement.unpublished", obj=ent,
                     before={"status": Status.PUBLISHED}, after={"status": Status.DRAFT})
        _recompute(tenant=ent.tenant, reason="entitlement moved to draft", actor=actor)
    return ent


def entitlement_delete(*, entitlement: Entitlement, actor: Any) -> None:
    """Delete an entitlement (its keys and documents go with it); audited, recomputed when it counted."""
    ent = entitlement
    before = _snapshot(ent)
    tenant = ent.tenant
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="entitlements.entitlement.deleted", obj=ent, before=before)
        ent.delete()
        if before["status"] == Status.PUBLISHED:
            _recompute(tenant=tenant, reason="entitlement deleted", actor=actor)


def entitlement_withdraw(*, entitlement: Entitlement, actor: Any) -> None:
    """Take back an entitlement that a transfer created (receiving's batch undo).

    Raises :class:`EntitlementChanged` when a person changed, published or moved it since; otherwise
    deletes it like :func:`entitlement_delete` but audits it as ``withdrawn``.
    """
    ent = entitlement
    if ent.modified_by_user:
        raise EntitlementChanged(ent)
    before = _snapshot(ent)
    tenant = ent.tenant
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="entitlements.entitlement.withdrawn", obj=ent, before=before)
        ent.delete()
        if before["status"] == Status.PUBLISHED:
            _recompute(tenant=tenant, reason="entitlement withdrawn", actor=actor)


CLONE_SKIP = {"id", "tenant", "status", "state", "errors", "warnings", "created_at", "updated_at", "created_by",
              "modified_by_user", "published_at", "purchase_line", "import_key"}


def entitlement_clone(*, entitlement: Entitlement, actor: Any) -> Entitlement:
    """A new draft with the same values (not the purchase line, keys or documents, which prove one purchase)."""
    src = entitlement
    data = {f.name: getattr(src, f.name) for f in Entitlement._meta.concrete_fields if f.name not in CLONE_SKIP}
    data["covers"] = list(src.covers.all()) if src.type == EntitlementType.MAINTENANCE else []
    from_sku = src.from_sku
    data.pop("from_sku", None)
    ent = entitlement_create(tenant=src.tenant, actor=actor, data=data, publish=False)
    if from_sku != ent.from_sku:
        Entitlement.objects.filter(pk=ent.pk).update(from_sku=from_sku)
        ent.from_sku = from_sku
    audit_record(tenant=src.tenant, actor=actor, action="entitlements.entitlement.cloned", obj=ent,
                 note=f"cloned from #{src.pk}")
    return ent


def entitlement_convert_metric(*, entitlement: Entitlement, actor: Any, metric: str, quantity: Decimal,
                               units: Decimal = Decimal(1), license_model: str = "", other_metric: str = "",
                               ) -> Entitlement:
    """Record a metric conversion (e.g. processor → core): a new entitlement supersedes the old one.

    The new entitlement copies the old one's values with the new metric and quantity and points at it
    through ``supersedes``; it is published when the old one was (and it is valid). The old one moves
    to draft so the two never count together.
    """
    old = entitlement
    data = {f.name: getattr(old, f.name) for f in Entitlement._meta.concrete_fields if f.name not in CLONE_SKIP}
    data.update(metric=metric, quantity=quantity, units=units, other_metric=other_metric, supersedes=old,
                unlimited=False)
    if license_model:
        data["license_model"] = license_model
    was_published = old.status == Status.PUBLISHED
    with transaction.atomic():
        new = entitlement_create(tenant=old.tenant, actor=actor, data=data, publish=False)
        if was_published:
            entitlement_unpublish(entitlement=old, actor=actor)
            if not new.errors:
                entitlement_publish(entitlement=new, actor=actor)
        audit_record(tenant=old.tenant, actor=actor, action="entitlements.entitlement.converted", obj=new,
                     before={"metric": old.metric, "quantity": old.quantity, "units": old.units},
                     after={"metric": new.metric, "quantity": new.quantity, "units": new.units},
                     note=f"supersedes #{old.pk}")
    return new


@dataclass
class BulkResult:
    done: int = 0
    refused: list[str] | None = None


def entitlements_bulk(*, tenant: Tenant, actor: Any, ids: Iterable[int], action: str) -> BulkResult:
    """Publish, move to draft or delete several entitlements; refusals (errors) are reported, not raised."""
    if action not in ("publish", "unpublish", "delete"):
        raise ValueError(f"unknown bulk action {action!r}")
    result = BulkResult(refused=[])
    for ent in Entitlement.objects.filter(tenant=tenant, pk__in=list(ids)).select_related("product__publisher"):
        try:
            if action == "publish":
                entitlement_publish(entitlement=ent, actor=actor)
            elif action == "unpublish":
                entitlement_unpublish(entitlement=ent, actor=actor)
            else:
                entitlement_delete(entitlement=ent, actor=actor)
            result.done += 1
        except EntitlementError as exc:
            result.refused.append(f"#{ent.pk}: {exc}")
    return result


def entitlements_revalidate(*, tenant: Tenant) -> int:
    """Validate every entitlement of the tenant again (after a settings change, or daily for expiry)."""
    require_proof = _requires_proof(tenant)
    with_docs = set(Document.objects.filter(tenant=tenant, entitlement__isnull=False)
                    .values_list("entitlement_id", flat=True))
    changed = []
    for ent in Entitlement.objects.filter(tenant=tenant).select_related("product__publisher").iterator(chunk_size=2000):
        old = (list(ent.errors), list(ent.warnings), ent.state)
        _apply_validation(ent, require_proof=require_proof, has_documents=ent.pk in with_docs)
        if (ent.errors, ent.warnings, ent.state) != old:
            changed.append(ent)
    Entitlement.objects.bulk_update(changed, ["errors", "warnings", "state"], batch_size=1000)
    return len(changed)


# ---------------------------------------------------------------------------------------------
# Maintenance coverage, keys


def maintenance_set_covers(*, maintenance: Entitlement, actor: Any, licenses: Iterable[Entitlement]) -> None:
    """Name the licenses a maintenance covers (replaces the previous list)."""
    if maintenance.type != EntitlementType.MAINTENANCE:
        raise EntitlementError(_("Only a maintenance covers licenses."))
    licenses = [lic for lic in licenses if lic.type == EntitlementType.LICENSE and lic.pk != maintenance.pk]
    before = sorted(maintenance.covers.values_list("pk", flat=True))
    with transaction.atomic():
        maintenance.covers.set(licenses)
        if _is_person(actor):
            Entitlement.objects.filter(pk=maintenance.pk).update(modified_by_user=True)
        audit_record(tenant=maintenance.tenant, actor=actor, action="entitlements.entitlement.covers_changed",
                     obj=maintenance, before={"covers": before}, after={"covers": sorted(x.pk for x in licenses)})


def license_key_add(*, entitlement: Entitlement, actor: Any, key: str, note: str = "") -> LicenseKey:
    """Store a license key for an entitlement (the audit row keeps only its masked form)."""
    key = (key or "").strip()
    if not key:
        raise EntitlementError(_("Enter the key."))
    with transaction.atomic():
        row = LicenseKey.objects.create(tenant=entitlement.tenant, entitlement=entitlement, key=key, note=note)
        audit_record(tenant=entitlement.tenant, actor=actor, action="entitlements.license_key.added", obj=entitlement,
                     after={"key": row.masked, "note": note})
    return row


def license_key_delete(*, license_key: LicenseKey, actor: Any) -> None:
    with transaction.atomic():
        audit_record(tenant=license_key.tenant, actor=actor, action="entitlements.license_key.removed",
                     obj=license_key.entitlement, before={"key": license_key.masked})
        license_key.delete()


# ---------------------------------------------------------------------------------------------
# Agreements, documents, repositories, management groups

CONTRACT_FIELDS = ("number", "publisher", "name", "start_date", "end_date", "sponsor", "business_unit", "comments")


def contract_create(*, tenant: Tenant, actor: Any, data: dict[str, Any]) -> Contract:
    """Create an agreement; ``number`` is unique per tenant."""
    number = (data.get("number") or "").strip()
    if not number:
        raise EntitlementError(_("An agreement needs a number."))
    if Contract.objects.filter(tenant=tenant, number=number).exists():
        raise EntitlementError(_("Agreement %(n)s already exists.") % {"n": number})
    contract = Contract(tenant=tenant, **{k: v for k, v in data.items() if k in CONTRACT_FIELDS})
    contract.number = number
    with transaction.atomic():
        contract.save()
        audit_record(tenant=tenant, actor=actor, action="entitlements.contract.created", obj=contract,
                     after=snapshot(contract))
    return contract


def contract_update(*, contract: Contract, actor: Any, data: dict[str, Any]) -> Contract:
    before = snapshot(contract)
    for key, value in data.items():
        if key in CONTRACT_FIELDS:
            setattr(contract, key, value)
    if Contract.objects.filter(tenant=contract.tenant, number=contract.number).exclude(pk=contract.pk).exists():
        raise EntitlementError(_("Agreement %(n)s already exists.") % {"n": contract.number})
    with transaction.atomic():
        contract.save()
        audit_record(tenant=contract.tenant, actor=actor, action="entitlements.contract.updated", obj=contract,
                     before=before, after=snapshot(contract))
    return contract


def contract_delete(*, contract: Contract, actor: Any) -> None:
    """Delete an agreement; its entitlements stay (unlinked, and warn about it after revalidation)."""
    tenant = contract.tenant
    linked = list(contract.entitlements.values_list("pk", flat=True))
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="entitlements.contract.deleted", obj=contract,
                     before=snapshot(contract))
        for doc in contract.documents.all():
            doc.file.delete(save=False)
        contract.delete()
        for ent in Entitlement.objects.filter(pk__in=linked).select_related("product__publisher"):
            entitlement_validate(entitlement=ent)


def document_add(*, tenant: Tenant, actor: Any, file, contract: Contract | None = None,
                 entitlement: Entitlement | None = None, name: str = "") -> Document:
    """Attach an uploaded file (proof of ownership) to an agreement or an entitlement."""
    if (contract is None) == (entitlement is None):
        raise ValueError("attach a document to exactly one agreement or entitlement")
    doc = Document(tenant=tenant, contract=contract, entitlement=entitlement, uploaded_by=actor if _is_person(actor)
                   else None, name=name or getattr(file, "name", ""))
    doc.file.save(getattr(file, "name", "document"), file, save=False)
    with transaction.atomic():
        doc.save()
        audit_record(tenant=tenant, actor=actor, action="entitlements.document.added", obj=contract or entitlement,
                     after={"document": doc.name})
        if entitlement is not None:
            entitlement_validate(entitlement=entitlement)
    return doc


def document_delete(*, document: Document, actor: Any) -> None:
    owner = document.contract or document.entitlement
    with transaction.atomic():
        audit_record(tenant=document.tenant, actor=actor, action="entitlements.document.removed", obj=owner,
                     before={"document": document.name})
        document.file.delete(save=False)
        entitlement = document.entitlement
        document.delete()
        if entitlement is not None:
            entitlement_validate(entitlement=entitlement)


def repository_create(*, tenant: Tenant, actor: Any, name: str) -> Repository:
    """A further repository (for example a what-if scenario); only the Default one counts by default."""
    name = (name or "").strip()
    if not name:
        raise EntitlementError(_("A repository needs a name."))
    if Repository.objects.filter(tenant=tenant, name__iexact=name).exists():
        raise EntitlementError(_("Repository %(n)s already exists.") % {"n": name})
    with transaction.atomic():
        repo = Repository.objects.create(tenant=tenant, name=name)
        audit_record(tenant=tenant, actor=actor, action="entitlements.repository.created", obj=repo,
                     after={"name": name})
    return repo


def repository_delete(*, repository: Repository, actor: Any) -> None:
    """Delete an empty, non-default repository."""
    if repository.is_default:
        raise EntitlementError(_("The Default repository cannot be deleted."))
    if repository.entitlements.exists():
        raise EntitlementError(_("Move or delete the repository's entitlements first."))
    with transaction.atomic():
        audit_record(tenant=repository.tenant, actor=actor, action="entitlements.repository.deleted", obj=repository,
                     before={"name": repository.name})
        repository.delete()


def management_group_get_or_create(*, tenant: Tenant, actor: Any, name: str) -> ManagementGroup | None:
    name = (name or "").strip()
    if not name:
        return None
    group = ManagementGroup.objects.filter(tenant=tenant, name__iexact=name).first()
    if group is None:
        with transaction.atomic():
            group = ManagementGroup.objects.create(tenant=tenant, name=name)
            audit_record(tenant=tenant, actor=actor, action="entitlements.management_group.created", obj=group,
                         after={"name": name})
    return group
