"""Reads of license requirements for the pages and the export. Call inside the tenant's scope."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from requirements_engine.models import ConfirmationState, Foundation, FoundationKind, Requirement
from sam.models import Tenant

KIND_LABELS = dict(FoundationKind.choices)


def requirements_queryset(*, tenant: Tenant) -> QuerySet[Requirement]:
    """Requirements with what a list row shows joined in (no query per row)."""
    return (Requirement.objects.filter(tenant=tenant)
            .select_related("device", "person", "product", "product__publisher")
            .annotate(foundation_count=Count("foundations")))


def requirements_with_errors(*, tenant: Tenant) -> QuerySet[Requirement]:
    """The data-quality list: requirements the engine could not compute (missing host, user, facts, model)."""
    return requirements_queryset(tenant=tenant).exclude(error="")


def confirmation_queue(*, tenant: Tenant) -> list[dict[str, Any]]:
    """Unconfirmed automatic requirements grouped per product: the license manager's queue."""
    rows = (Requirement.objects.filter(tenant=tenant, manual=False, confirmation=ConfirmationState.UNCONFIRMED)
            .values("product_id", "product__publisher__name", "product__title", "product__version",
                    "product__edition")
            .annotate(count=Count("id"))
            .order_by("product__publisher__name", "product__title", "product__version", "product__edition"))
    return [{"product_id": r["product_id"], "count": r["count"],
             "product": " ".join(p for p in (r["product__publisher__name"], r["product__title"],
                                             r["product__version"], r["product__edition"]) if p)} for r in rows]


def queue_requirements(*, tenant: Tenant, product_id: int) -> QuerySet[Requirement]:
    return (requirements_queryset(tenant=tenant)
            .filter(product_id=product_id, manual=False, confirmation=ConfirmationState.UNCONFIRMED)
            .order_by("consumer_key"))


def requirement_detail(*, requirement: Requirement) -> dict[str, Any]:
    """Everything the detail page shows, in a fixed number of queries."""
    return {
        "foundations": list(requirement.foundations.order_by("kind", "source_key")),
        "carried_by": list(requirement.consolidated_into.select_related("device", "person").order_by("consumer_key")),
        "carries": list(requirement.consolidates.select_related("device", "person").order_by("consumer_key")),
        "values": sorted((requirement.expression_values or {}).items()),
    }


def format_quantity(value: Decimal | None) -> str:
    """4.0000 → "4", 3.5000 → "3.5" (exports and pages show no trailing zeros)."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def format_values(values: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((values or {}).items()))


EXPORT_HEADER = ("consumer", "consumer_type", "publisher", "product", "version", "edition", "license_model",
                 "quantity", "confirmed", "confirmation", "effective", "manual", "secondary", "consolidated_into",
                 "foundations", "error", "expression", "expression_values", "core_factor", "note")


def requirement_export_rows(*, tenant: Tenant) -> Iterator[list[Any]]:
    """One row per requirement, sorted by consumer and product; foundations as a readable list.

    Secondary (consolidated) requirements export with quantity 0: the requirements that carry them
    count the license. Three queries in all, whatever the number of requirements.
    """
    foundations: dict[int, list[str]] = {}
    for req_id, kind, source in (Foundation.objects.filter(tenant=tenant)
                                 .order_by("requirement_id", "kind", "source_key")
                                 .values_list("requirement_id", "kind", "source").iterator(chunk_size=20000)):
        foundations.setdefault(req_id, []).append(f"{KIND_LABELS.get(kind, kind)}: {source}")
    names: dict[int, str] = {}
    carried: dict[int, list[int]] = {}
    through = Requirement.consolidated_into.through
    for src, dst in through.objects.filter(from_requirement__tenant_id=tenant.id).values_list(
            "from_requirement_id", "to_requirement_id"):
        carried.setdefault(src, []).append(dst)
    rows = []
    for (pk, device, person, ctype, publisher, title, version, edition, model, quantity, confirmation, effective,
         manual, secondary, error, expression, values, core_factor, note) in (
            Requirement.objects.filter(tenant=tenant).values_list(
                "id", "device__name", "person__username", "consumer_type", "product__publisher__name",
                "product__title", "product__version", "product__edition", "license_model", "quantity",
                "confirmation", "effective", "manual", "is_secondary", "error", "expression",
                "expression_values", "core_factor", "note").iterator(chunk_size=20000)):
        consumer = device if device is not None else (person or "")  # a consumer-less row must not break the export
        names[pk] = consumer
        rows.append([consumer, ctype, publisher, title, version, edition, model,
                     Decimal(0) if secondary else quantity, confirmation, effective, manual, secondary, pk,
                     foundations.get(pk, []), error, expression, values, core_factor, note])
    rows.sort(key=lambda r: (r[2].lower(), r[3].lower(), r[4], r[5], r[0].lower(), r[1]))
    for r in rows:
        (consumer, ctype, publisher, title, version, edition, model, quantity, confirmation, effective, manual,
         secondary, pk, founds, error, expression, values, core_factor, note) = r
        yield [consumer, ctype, publisher, title, version, edition, model, format_quantity(quantity),
               "yes" if confirmation == ConfirmationState.CONFIRMED else "no", confirmation,
               "yes" if effective else "no", "yes" if manual else "no", "yes" if secondary else "no",
               ", ".join(sorted(names.get(d, str(d)) for d in carried.get(pk, []))), "; ".join(sorted(founds)), error,
               expression, format_values(values), format_quantity(core_factor), note]


def requirement_counts(*, tenant: Tenant) -> dict[str, int]:
    """Counters for the list header (one query)."""
    return Requirement.objects.filter(tenant=tenant).aggregate(
        total=Count("id"),
        unconfirmed=Count("id", filter=Q(confirmation=ConfirmationState.UNCONFIRMED, manual=False)),
        errors=Count("id", filter=~Q(error="")),
        manual=Count("id", filter=Q(manual=True)),
    )
