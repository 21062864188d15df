"""The compliance balance: one row per license position (product × license model) per day.

``balance_compute`` runs at the end of every recompute. It reads the requirements the engine
wrote and the counted licenses, allocates licenses to positions (``allocation.allocate``), and
stores one set of ``BalanceRow`` and ``Allocation`` rows per as-of day (a recompute replaces that
day's rows; earlier days stay as snapshots for trends). With ``repository=`` it computes a
what-if balance (counting the given repository's licenses instead of the Default's) in memory and stores nothing.

Set-based: a fixed number of queries per run, whatever the number of positions or licenses.
"""
from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.db import transaction
from django.db.models import Q

from requirements_engine.allocation import SCALE, allocate, from_units, supply_classes, to_units
from requirements_engine.coverage import (
    EXPIRY_WINDOW_DAYS,
    MAINTENANCE,
    CatalogFacts,
    LicenseFacts,
    catalog_facts,
    coverage_edges,
    licenses_counted,
    products_facts,
)
from sam.models import Job, Tenant

ZERO = Decimal(0)
Position = tuple[int, str]


@dataclass
class Demand:
    """Counted requirement quantities of one position, grouped by core factor for position rounding."""

    confirmed_by_factor: dict[Decimal | None, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    unconfirmed: Decimal = ZERO
    requirement_ids: list[int] = field(default_factory=list)


def position_required(*, by_factor: dict[Decimal | None, Decimal], rounding: str) -> Decimal:
    """The licenses a position needs.

    ``rounding == "position"``: requirement quantities keep their fractions; each group of
    requirements sharing a core factor is summed, then rounded up – Oracle's processor metric
    totals the cores × factor of all servers of one factor before rounding (two 7-core Xeon
    servers at 0.5 need ceil(3.5 + 3.5) = 7, not 4 + 4). Otherwise the quantities are already
    whole per consumer and are just added.
    """
    if rounding == "position":
        return sum((Decimal(math.ceil(total)) for total in by_factor.values()), ZERO)
    return sum(by_factor.values(), ZERO)


def _exempt_filter(*, tenant: Tenant, as_of: dt.date):
    """A predicate on requirement rows: is it exempt on ``as_of`` (one query)?"""
    from requirements_engine.models_balance import Exemption

    active = Exemption.objects.filter(tenant=tenant, revoked_at__isnull=True).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=as_of))
    req_ids: set[int] = set()
    consumers: set[tuple[str, int, int | None]] = set()
    for e in active.values("requirement_id", "device_id", "person_id", "product_id"):
        if e["requirement_id"]:
            req_ids.add(e["requirement_id"])
        if e["device_id"]:
            consumers.add(("d", e["device_id"], e["product_id"]))
        if e["person_id"]:
            consumers.add(("p", e["person_id"], e["product_id"]))

    def is_exempt(row: dict) -> bool:
        if row["id"] in req_ids:
            return True
        for kind, key in (("d", row["device_id"]), ("p", row["person_id"])):
            if key and ((kind, key, None) in consumers or (kind, key, row["product_id"]) in consumers):
                return True
        return False

    return is_exempt


def _demands(*, tenant: Tenant, as_of: dt.date, catalog: CatalogFacts) -> dict[Position, Demand]:
    """Effective, error-free, primary requirements per position; confirmed ones count, others shown apart."""
    from requirements_engine.models import ConfirmationState, Requirement

    is_exempt = _exempt_filter(tenant=tenant, as_of=as_of)
    rows = (Requirement.objects.filter(tenant=tenant, effective=True, is_secondary=False, error="")
            .order_by("id").values("id", "product_id", "license_model", "quantity", "core_factor", "confirmation",
                                   "device_id", "person_id"))
    demands: dict[Position, Demand] = defaultdict(Demand)
    for row in rows:
        model = row["license_model"] or catalog.default_models.get(row["product_id"], "")
        demand = demands[(row["product_id"], model)]
        if is_exempt(row):
            continue
        quantity = row["quantity"] or ZERO
        if row["confirmation"] == ConfirmationState.CONFIRMED:
            factor = row["core_factor"] if catalog.rounding(model) == "position" else None
            demand.confirmed_by_factor[factor] += quantity
            demand.requirement_ids.append(row["id"])
        elif row["confirmation"] == ConfirmationState.UNCONFIRMED:
            demand.unconfirmed += quantity
    return demands


def _last_purchase_prices(*, tenant: Tenant, product_ids: set[int]) -> dict[int, Decimal]:
    """Per product, the unit price of its most recent license purchase (one query)."""
    from entitlements.models import Entitlement

    if not product_ids:
        return {}
    prices: dict[int, Decimal] = {}
    rows = (Entitlement.objects.filter(tenant=tenant, type="license", product_id__in=product_ids,
                                       unit_cost__isnull=False)
            .order_by("product_id", "-start_date", "-created_at", "-id")
            .values_list("product_id", "unit_cost", "units"))
    for product_id, cost, units in rows:
        if product_id not in prices:
            prices[product_id] = Decimal(cost) / (Decimal(units or 1) or Decimal(1))
    return prices


@dataclass
class BalanceResult:
    rows: list  # unsaved BalanceRow
    allocations: list  # unsaved Allocation
    licenses: list[LicenseFacts]


def balance_evaluate(*, tenant: Tenant, as_of: dt.date, repository=None) -> BalanceResult:
    """Compute the balance rows and allocations for ``as_of`` in memory (nothing is written)."""
    from requirements_engine.models import Allocation, BalanceRow

    catalog = catalog_facts(tenant=tenant)
    demands = _demands(tenant=tenant, as_of=as_of, catalog=catalog)
    licenses, maintenances = licenses_counted(tenant=tenant, as_of=as_of, repository=repository, catalog=catalog)
    maint_end = {m["id"]: m["end_date"] for m in maintenances}

    positions: set[Position] = set(demands)
    positions.update((lic.product_id, lic.license_model) for lic in licenses)
    products = products_facts(product_ids={p for p, _m in positions}
                              | {c for comps in catalog.bundles.values() for c in comps}, tenant=tenant)

    required = {pos: position_required(by_factor=d.confirmed_by_factor, rounding=catalog.rounding(pos[1]))
                for pos, d in demands.items()}
    scaled_demand = {pos: to_units(q) for pos, q in required.items() if q > 0}

    classes = supply_classes(licenses=licenses)
    edges = coverage_edges(supplies=[c.representative for c in classes], positions=scaled_demand,
                           products=products, catalog=catalog)
    lines = allocate(demands=scaled_demand, classes=classes, edges=edges)

    by_id = {lic.id: lic for lic in licenses}
    covered: dict[Position, int] = defaultdict(int)
    used: dict[int, int] = defaultdict(int)
    expiring: dict[Position, int] = defaultdict(int)
    unlimited_positions: set[Position] = set()
    horizon = as_of + dt.timedelta(days=EXPIRY_WINDOW_DAYS)
    repo_ref = repository.pk if repository is not None else None
    allocations = []
    for line in lines:
        lic = by_id[line.entitlement_id]
        covered[line.position] += line.units
        used[lic.id] += line.units
        if lic.unlimited:
            unlimited_positions.add(line.position)
        # Coverage at risk within 90 days: the license ends, or (for coverage through maintenance) every
        # maintenance term that grants it ends.
        ends = lic.end_date is not None and lic.end_date <= horizon
        if MAINTENANCE in line.rule and lic.maintenance:
            ends = ends or all(maint_end.get(m) is not None and maint_end[m] <= horizon
                               for _s, _e, m in lic.maintenance)
        if ends:
            expiring[line.position] += line.units
        allocations.append(Allocation(tenant=tenant, as_of=as_of, repository_id_ref=repo_ref,
                                      product_id=line.position[0], license_model=line.position[1],
                                      entitlement_id=lic.id, units=from_units(line.units), rule=line.rule))

    purchased: dict[Position, Decimal] = defaultdict(Decimal)
    surplus: dict[Position, int] = defaultdict(int)
    for lic in licenses:
        pos = (lic.product_id, lic.license_model)
        if lic.unlimited:
            unlimited_positions.add(pos)
            continue
        purchased[pos] += lic.total
        # Surplus: this position's own licenses that no position needed (any rule).
        surplus[pos] += max(to_units(lic.total) - used[lic.id], 0)

    shortfall_products = {p for p in positions if scaled_demand.get(p, 0) > covered.get(p, 0)}
    last_prices = _last_purchase_prices(tenant=tenant, product_ids={p for p, _m in shortfall_products})

    rows = []
    for pos in sorted(positions, key=lambda p: (products[p[0]].publisher, products[p[0]].title,
                                                products[p[0]].version_sort, products[p[0]].edition, p[1])):
        need = scaled_demand.get(pos, 0)
        cov = covered.get(pos, 0)
        short = max(need - cov, 0)
        cost = None
        if short:
            price = catalog.price(pos[0], pos[1]) or last_prices.get(pos[0])
            if price is not None:
                cost = (from_units(short) * price).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        demand = demands.get(pos)
        rows.append(BalanceRow(
            tenant=tenant, as_of=as_of, repository_id_ref=repo_ref, product_id=pos[0], license_model=pos[1],
            metric=catalog.metric(pos[1]), required=required.get(pos, ZERO),
            unconfirmed=demand.unconfirmed if demand else ZERO, purchased=purchased.get(pos, ZERO),
            covered=from_units(cov), shortfall=from_units(short), surplus=from_units(surplus.get(pos, 0)),
            shortfall_cost=cost, expiring=from_units(expiring.get(pos, 0)), unlimited=pos in unlimited_positions,
        ))
    return BalanceResult(rows=rows, allocations=allocations, licenses=licenses)


def balance_compute(*, tenant: Tenant, as_of: dt.date, job: Job | None = None, repository=None) -> dict:
    """Compute the balance for ``as_of``; store it (replacing that day's rows) unless it is a what-if.

    Returns a JSON-able summary for the recompute job; a what-if (``repository`` given) also returns
    the unsaved ``rows`` and ``allocations``.
    """
    from requirements_engine.models import Allocation, BalanceRow

    result = balance_evaluate(tenant=tenant, as_of=as_of, repository=repository)
    summary = {
        "positions": len(result.rows),
        "shortfall_positions": sum(1 for r in result.rows if r.shortfall > 0),
        "allocations": len(result.allocations),
    }
    if repository is not None:
        return {**summary, "rows": result.rows, "allocation_rows": result.allocations}
    with transaction.atomic():
        # One set of rows per day: a recompute of the same day replaces it, other days stay.
        Allocation.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).delete()
        BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).delete()
        BalanceRow.objects.bulk_create(result.rows, batch_size=1000)
        Allocation.objects.bulk_create(result.allocations, batch_size=1000)
    if job is not None:
        from sam.jobs import job_progress

        job_progress(job=job, progress=99, message=f"Balance: {summary['positions']} positions")
    return summary


__all__ = ["balance_compute", "balance_evaluate", "position_required", "SCALE"]
