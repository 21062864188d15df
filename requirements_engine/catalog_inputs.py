"""The catalog rules the requirement engine reads, read once per run through ``catalog.selectors``.

The catalog app owns the overlay of master rows and tenant amendments; this module only narrows
what its selectors return into the few values the engine needs, with a fixed number of queries.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from catalog import selectors as catalog_selectors
from catalog.expressions import ExpressionError, evaluate, names_used  # noqa: F401 - re-exported for the engine
from catalog.models import AssignmentKind
from sam.models import Tenant


@dataclass(frozen=True, slots=True)
class LicenseModelRule:
    name: str
    assignment: str
    metric: str
    effective: bool
    quantity: str
    rounding: str


@dataclass(frozen=True, slots=True)
class ProductRule:
    product_id: int
    default_license_model: str
    min_entitlement_days: int
    confirmation: str
    second_copy: bool


@dataclass(frozen=True, slots=True)
class ProductLink:
    """A configuration that links something to a product (group, executable, service, dependency)."""

    key: str
    product_id: int
    source_product_id: int | None


def license_models(*, tenant: Tenant) -> dict[str, LicenseModelRule]:
    """The tenant's effective license models by name (tenant amendments win over the master)."""
    return {
        name: LicenseModelRule(name=m.name, assignment=m.assignment or "device", metric=m.metric or "device",
                               effective=bool(m.effective), quantity=(m.quantity or "1"),
                               rounding=m.rounding or "consumer")
        for name, m in catalog_selectors.license_models_effective(tenant=tenant).items()
    }


def product_rules(*, tenant: Tenant, product_ids: Iterable[int]) -> dict[int, ProductRule]:
    """Default license model, minimum entitlement period, confirmation mode and second copy per product."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    return {
        int(pid): ProductRule(product_id=int(pid), default_license_model=t.default_license_model or "",
                              min_entitlement_days=int(t.min_entitlement_days or 0),
                              confirmation=t.confirmation or "automatic", second_copy=bool(t.second_copy))
        for pid, t in catalog_selectors.product_terms_effective(tenant=tenant, product_ids=ids).items()
    }


ProcessorLookup = Callable[[str, "int | None"], "tuple[Decimal | None, int | None]"]


def processor_lookup(*, tenant: Tenant) -> ProcessorLookup:
    """fn(processor model, sockets) → (core factor, PVU per core); the selector caches per call."""
    return catalog_selectors.processor_lookup(tenant=tenant)


def product_links(*, tenant: Tenant, kind: str) -> list[ProductLink]:
    """Effective group / executable / service / dependency assignments (keys compare case-insensitively)."""
    return [ProductLink(key=a.key or "", product_id=int(a.product_id),
                        source_product_id=int(a.source_product_id) if a.source_product_id is not None else None)
            for a in catalog_selectors.assignments_effective(tenant=tenant, kind=kind)]


def all_product_links(*, tenant: Tenant) -> dict[str, list[ProductLink]]:
    return {kind: product_links(tenant=tenant, kind=kind) for kind in AssignmentKind.values}
