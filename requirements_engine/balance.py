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
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

import polars as pl
from django.db import transaction
from django.db.models import Q, Sum

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


def _exemptions(*, tenant: Tenant, as_of: dt.date) -> tuple[list[int], pl.DataFrame]:
    """Active exemptions on ``as_of``: requirement ids, and (consumer column, id, product or None) rows."""
    from requirements_engine.models_balance import Exemption

    active = Exemption.objects.filter(tenant=tenant, revoked_at__isnull=True).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=as_of))
    req_ids: list[int] = []
    consumers: list[tuple[str, int, int | None]] = []
    for e in active.values("requirement_id", "device_id", "person_id", "product_id"):
        if e["requirement_id"]:
            req_ids.append(e["requirement_id"])
        if e["device_id"]:
            consumers.append(("device_id", e["device_id"], e["product_id"]))
        if e["person_id"]:
            consumers.append(("person_id", e["person_id"], e["product_id"]))
    return req_ids, pl.DataFrame(consumers, orient="row",
                                 schema={"column": pl.String, "cid": pl.Int64, "pid": pl.Int64})


def _demands(*, tenant: Tenant, as_of: dt.date, catalog: CatalogFacts,
             product_ids: set[int] | None = None) -> dict[Position, Demand]:
    """Effective, error-free, primary requirements per position; confirmed ones count, others shown apart.

    Columnar: the requirement rows are read as columns and summed per position (and per core factor
    for position rounding) with one group-by; Python runs once per position, not per requirement.
    """
    from requirements_engine import frames
    from requirements_engine.models import ConfirmationState, Requirement

    qs = Requirement.objects.filter(tenant=tenant, effective=True, is_secondary=False, error="")
    cols = {"id": frames.INT, "pid": frames.INT, "model": frames.STR, "quantity": frames.STR,
            "core_factor": frames.STR, "confirmation": frames.STR, "device_id": frames.INT, "person_id": frames.INT}
    fields = ["id", "product_id", "license_model", "quantity", "core_factor", "confirmation", "device_id", "person_id"]
    rows = frames.read_in(qs, "product_id", product_ids, cols, fields)
    defaults = pl.DataFrame({"pid": list(catalog.default_models), "default": list(catalog.default_models.values())},
                            schema={"pid": pl.Int64, "default": pl.String})
    rows = (rows.join(defaults, on="pid", how="left")
            .with_columns(pl.when(pl.col("model").fill_null("") == "").then(pl.col("default").fill_null(""))
                          .otherwise(pl.col("model")).alias("model")))
    req_ids, consumers = _exemptions(tenant=tenant, as_of=as_of)
    exempt = pl.col("id").is_in(req_ids)
    for column in ("device_id", "person_id"):
        mine = consumers.filter(pl.col("column") == column)
        everything = mine.filter(pl.col("pid").is_null())["cid"].to_list()
        exempt = exempt | pl.col(column).is_in(everything)
        if mine.filter(pl.col("pid").is_not_null()).height:
            pairs = mine.filter(pl.col("pid").is_not_null()).select(
                pl.concat_str([pl.col("cid").cast(pl.String), pl.lit("/"), pl.col("pid").cast(pl.String)]))
            exempt = exempt | pl.concat_str([pl.col(column).cast(pl.String), pl.lit("/"),
                                            pl.col("pid").cast(pl.String)]).is_in(pairs.to_series().to_list())
    positional = [m for m in rows["model"].unique().to_list() if catalog.rounding(m) == "position"]
    rows = rows.with_columns(
        exempt.fill_null(False).alias("exempt"),
        pl.col("quantity").fill_null("0").cast(pl.Decimal(38, 4)),
        pl.when(pl.col("model").is_in(positional)).then(pl.col("core_factor").cast(pl.Decimal(38, 3)))
        .otherwise(None).alias("factor"))
    demands: dict[Position, Demand] = defaultdict(Demand)
    for pid, model in rows.select("pid", "model").unique().iter_rows():
        demands[(pid, model)] = Demand()  # a position with requirements, even exempt or unconfirmed ones
    counted = rows.filter(~pl.col("exempt"))
    confirmed = (counted.filter(pl.col("confirmation") == ConfirmationState.CONFIRMED.value)
                 .group_by("pid", "model", "factor").agg(pl.col("quantity").sum()))
    for pid, model, factor, quantity in confirmed.iter_rows():
        demands[(pid, model)].confirmed_by_factor[factor] += quantity
    unconfirmed = (counted.filter(pl.col("confirmation") == ConfirmationState.UNCONFIRMED.value)
                   .group_by("pid", "model").agg(pl.col("quantity").sum()))
    for pid, model, quantity in unconfirmed.iter_rows():
        demands[(pid, model)].unconfirmed += quantity
    return demands


def balance_products_closure(*, product_ids: set[int], catalog: CatalogFacts) -> set[int]:
    """The products whose positions can share licenses with ``product_ids``' positions.

    A license reaches only positions of its own publisher × title (version and edition rights) and
    the components of its bundle (``coverage.coverage_edges``), so this set — closed over titles
    and bundles — holds every allocation component that touches the given products: its balance
    can be recomputed alone and equals that part of a full run.
    """
    from catalog.models import Product

    closed: set[int] = set()
    todo = set(product_ids)
    contains: dict[int, set[int]] = defaultdict(set)
    for bundle, components in catalog.bundles.items():
        for c in components:
            contains[c].add(bundle)
    while todo:
        closed |= todo
        titles = set(Product.objects.filter(id__in=sorted(todo)).values_list("publisher_id", "title"))
        same = set()
        if titles:
            pubs, names = {t[0] for t in titles}, {t[1] for t in titles}
            same = {pk for pk, pub, title in Product.objects.filter(publisher_id__in=pubs, title__in=names)
                    .values_list("id", "publisher_id", "title") if (pub, title) in titles}
        linked = set(same)
        for pid in todo:
            linked |= catalog.bundles.get(pid, set()) | contains.get(pid, set())
        todo = linked - closed
    return closed


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


def balance_evaluate(*, tenant: Tenant, as_of: dt.date, repository=None, with_default: bool = False,
                     product_ids: set[int] | None = None) -> BalanceResult:
    """Compute the balance rows and allocations for ``as_of`` in memory (nothing is written).

    ``repository`` counts that repository's licenses instead of the Default's; with
    ``with_default`` in addition to them (a what-if = reality + scenario).
    ``product_ids`` (closed with ``balance_products_closure``) limits it to those products' positions.
    """
    from requirements_engine.models import Allocation, BalanceRow

    catalog = catalog_facts(tenant=tenant)
    demands = _demands(tenant=tenant, as_of=as_of, catalog=catalog, product_ids=product_ids)
    licenses, maintenances = licenses_counted(tenant=tenant, as_of=as_of, repository=repository, catalog=catalog)
    if repository is not None and with_default:
        real, real_maintenances = licenses_counted(tenant=tenant, as_of=as_of, catalog=catalog)
        licenses = sorted([*real, *licenses], key=lambda lic: lic.id)
        maintenances = [*real_maintenances, *maintenances]
    if product_ids is not None:
        licenses = [lic for lic in licenses if lic.product_id in product_ids]
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


def balance_touched_products(*, tenant: Tenant, as_of: dt.date, entitlement_ids: Iterable[int] = (),
                              positions: Iterable[Iterable] = (), product_ids: Iterable[int] = ()) -> set[int]:
    """The products a change touches: those of the positions, of the entitlements (and of the licenses a
    maintenance covers), and of the positions the entitlements were allocated to in the stored balance
    (an entitlement deleted, withdrawn or moved to another product leaves its old positions)."""
    from entitlements.models import Entitlement
    from requirements_engine.models import Allocation, BalanceRow

    ids = sorted({int(i) for i in entitlement_ids})
    touched = {int(p) for p in product_ids} | {int(pos[0]) for pos in positions}
    if ids:
        touched |= {p for p in Entitlement.objects.filter(tenant=tenant, id__in=ids)
                    .values_list("product_id", flat=True) if p is not None}
        through = Entitlement.covers.through
        covered = list(through.objects.filter(from_entitlement_id__in=ids).values_list("to_entitlement_id", flat=True))
        if covered:
            touched |= {p for p in Entitlement.objects.filter(tenant=tenant, id__in=covered)
                        .values_list("product_id", flat=True) if p is not None}
        stored = Allocation.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
        touched |= set(stored.filter(entitlement_id__in=ids + covered).values_list("product_id", flat=True))
        # A deleted entitlement takes its stored allocations with it (cascade) and its product is no
        # longer known: the positions whose stored coverage no longer adds up are touched too.
        allocated = {(p, m): units for p, m, units in stored.values_list("product_id", "license_model")
                     .annotate(units=Sum("units")).values_list("product_id", "license_model", "units")}
        touched |= {p for p, m, covered in BalanceRow.objects.filter(
            tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).values_list("product_id", "license_model",
                                                                                    "covered")
                    if allocated.get((p, m), ZERO) != covered}
    return touched


def balance_compute(*, tenant: Tenant, as_of: dt.date, job: Job | None = None, repository=None,
                    product_ids: Iterable[int] | None = None) -> dict:
    """Compute the balance for ``as_of``; store it (replacing that day's rows) unless it is a what-if.

    ``product_ids`` (optional) re-allocates only the allocation components touching these products
    (closed over titles and bundles, ``balance_products_closure``) and replaces only their rows;
    when the day has no stored balance yet the whole balance is computed.
    Returns a JSON-able summary for the recompute job; a what-if (``repository`` given) also returns
    the unsaved ``rows`` and ``allocations``.
    """
    from requirements_engine.models import Allocation, BalanceRow

    closed: set[int] | None = None
    if product_ids is not None and repository is None and BalanceRow.objects.filter(
            tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).exists():
        closed = balance_products_closure(product_ids=set(product_ids), catalog=catalog_facts(tenant=tenant))
    result = balance_evaluate(tenant=tenant, as_of=as_of, repository=repository, product_ids=closed)
    summary = {
        "positions": len(result.rows),
        "shortfall_positions": sum(1 for r in result.rows if r.shortfall > 0),
        "allocations": len(result.allocations),
    }
    if repository is not None:
        return {**summary, "rows": result.rows, "allocation_rows": result.allocations}
    with transaction.atomic():
        # One set of rows per day: a recompute of the same day replaces it, other days stay.
        allocations = Allocation.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
        rows = BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
        if closed is not None:
            # A delta: only the positions of the re-allocated components.
            allocations = allocations.filter(product_id__in=sorted(closed))
            rows = rows.filter(product_id__in=sorted(closed))
            summary["balance_scope"] = f"products ({len(closed)})"
        allocations.delete()
        rows.delete()
        BalanceRow.objects.bulk_create(result.rows, batch_size=1000)
        Allocation.objects.bulk_create(result.allocations, batch_size=1000)
    if job is not None:
        from sam.jobs import job_progress

        job_progress(job=job, progress=99, message=f"Balance: {summary['positions']} positions")
    return summary


__all__ = ["balance_compute", "balance_evaluate", "position_required", "SCALE"]
