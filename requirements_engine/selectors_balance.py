"""Reads of the compliance balance: stored daily rows, position details, trends, reconciliation, changes.

Every function takes the tenant explicitly and reads with a fixed number of queries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Q, Sum

from requirements_engine.models import Allocation, BalanceRow, ConfirmationState, Requirement
from requirements_engine.models_balance import Exemption, ReconciliationComment, ReconciliationItem
from sam.models import AuditEvent, Job, Tenant

ZERO = Decimal(0)


# --- rows -----------------------------------------------------------------------------------------


#: Days a page may ask for: before or after these the engine's date arithmetic (terms, 90-day windows) fails.
MIN_DAY = dt.date(1900, 1, 1)
MAX_DAY = dt.date(2999, 12, 31)


def balance_days(*, tenant: Tenant) -> list[dt.date]:
    """The days that have stored balance rows, newest first."""
    return list(BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
                .order_by("-as_of").values_list("as_of", flat=True).distinct())


def balance_latest_day(*, tenant: Tenant, today: dt.date | None = None) -> dt.date | None:
    """The day every balance page, dashboard and export shows by default: the current stored state.

    That is the newest stored day not after today; only when every stored day lies in the future
    (a recompute asked for a future as-of day) the earliest of them. Never a day a read computed.
    """
    today = today or dt.date.today()
    base = BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
    day = base.filter(as_of__lte=today).order_by("-as_of").values_list("as_of", flat=True).first()
    if day is None:
        day = base.order_by("as_of").values_list("as_of", flat=True).first()
    return day


def balance_nearest_days(*, tenant: Tenant, as_of: dt.date, each_side: int = 2) -> list[dt.date]:
    """The stored days closest to ``as_of``: up to ``each_side`` before and after it (two queries)."""
    base = (BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
            .values_list("as_of", flat=True).distinct())
    before = list(base.filter(as_of__lt=as_of).order_by("-as_of")[:each_side])
    after = list(base.filter(as_of__gt=as_of).order_by("as_of")[:each_side])
    return sorted([*before, *after])


def balance_day_stored(*, tenant: Tenant, as_of: dt.date) -> bool:
    return BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).exists()


@dataclass
class DayChoice:
    """The day a balance page shows, and what the page must say about it.

    ``error``: the requested value was not a usable day (the page says so and shows ``as_of``,
    the default day). ``stored``: ``as_of`` has a snapshot. ``computed``: the user asked to compute
    this day now (shown labelled, never stored). ``nearest``: stored days to offer instead.
    """

    as_of: dt.date | None
    requested: str = ""
    error: str = ""
    stored: bool = False
    computed: bool = False
    is_default: bool = True
    nearest: list[dt.date] = field(default_factory=list)


def parse_day(value: str | None) -> tuple[dt.date | None, str]:
    """An ISO day from a query string, or an error message for the user (never an exception)."""
    from django.utils.translation import gettext as _

    text = (value or "").strip()
    if not text:
        return None, ""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, _("“%(v)s” is not a valid day: use the form YYYY-MM-DD, e.g. 2026-06-30.") % {"v": text[:40]}
    if not (MIN_DAY <= day <= MAX_DAY):
        return None, _("“%(v)s” is outside the days the balance can show (%(a)s to %(b)s).") % {
            "v": text[:40], "a": MIN_DAY.isoformat(), "b": MAX_DAY.isoformat()}
    return day, ""


def balance_day_resolve(*, tenant: Tenant, value: str | None, compute: bool = False,
                        today: dt.date | None = None) -> DayChoice:
    """Which day a balance page shows for the query value ``value`` (a read: nothing is written).

    No value → the current stored day. A stored day → its snapshot. Another day → no rows, the
    nearest stored days offered; with ``compute`` the page shows that day computed in memory.
    """
    today = today or dt.date.today()
    default = balance_latest_day(tenant=tenant, today=today)
    day, error = parse_day(value)
    if day is None:
        return DayChoice(as_of=default or today, requested=(value or "").strip(), error=error,
                         stored=default is not None, is_default=True)
    stored = balance_day_stored(tenant=tenant, as_of=day)
    choice = DayChoice(as_of=day, requested=value or "", stored=stored, is_default=False)
    if not stored:
        choice.nearest = balance_nearest_days(tenant=tenant, as_of=day)
        choice.computed = compute
    return choice


def _with_products(rows: list[BalanceRow]) -> list[BalanceRow]:
    from catalog.models import Product

    products = Product.objects.select_related("publisher").in_bulk({r.product_id for r in rows})
    for r in rows:
        r.product = products[r.product_id]
    return rows


def balance_rows(*, tenant: Tenant, as_of: dt.date, repository=None) -> list[BalanceRow]:
    """The stored balance of ``as_of`` (empty when that day has no snapshot), or a what-if.

    A read never writes: a day without a snapshot stays without one (``balance_rows_computed``
    gives a labelled in-memory view). A what-if (``repository`` given) is the real Default
    inventory plus the repository's licenses, computed in memory; stored rows are not touched.
    """
    if repository is not None:
        return balance_whatif(tenant=tenant, as_of=as_of, repository=repository)
    qs = (BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
          .select_related("product__publisher")
          .order_by("product__publisher__name", "product__title", "product__version_sort", "product__edition",
                    "license_model"))
    return list(qs)


def balance_rows_computed(*, tenant: Tenant, as_of: dt.date) -> list[BalanceRow]:
    """The balance of ``as_of`` computed now from the stored requirements and licenses; never stored."""
    from requirements_engine.balance import balance_evaluate

    return _with_products(balance_evaluate(tenant=tenant, as_of=as_of).rows)


def balance_rows_for_export(*, tenant: Tenant, as_of: dt.date) -> list[BalanceRow]:
    """``export_data balance``: the stored snapshot of ``as_of``; a day without one is computed in memory."""
    return balance_rows(tenant=tenant, as_of=as_of) or balance_rows_computed(tenant=tenant, as_of=as_of)


WHATIF_ADD = "add"
WHATIF_REPLACE = "replace"


def balance_whatif(*, tenant: Tenant, as_of: dt.date, repository, mode: str = WHATIF_ADD) -> list[BalanceRow]:
    """A what-if balance: reality (the Default inventory) plus the scenario repository's licenses.

    ``mode="replace"`` counts the scenario's licenses instead of the Default's (for a scenario that
    started as a copy of the Default). Every row carries ``real`` (the real position or None) and
    ``delta`` (scenario minus real for required, covered, shortfall, surplus and shortfall cost).
    Computed in memory; nothing is stored.
    """
    from requirements_engine.balance import balance_evaluate

    rows = balance_evaluate(tenant=tenant, as_of=as_of, repository=repository,
                            with_default=(mode != WHATIF_REPLACE)).rows
    real = {(r.product_id, r.license_model): r for r in
            (balance_rows(tenant=tenant, as_of=as_of) or balance_evaluate(tenant=tenant, as_of=as_of).rows)}
    keys = {(r.product_id, r.license_model) for r in rows}
    for key, r in real.items():  # a real position the scenario no longer has (replace mode)
        if key not in keys:
            rows.append(BalanceRow(tenant=tenant, as_of=as_of, repository_id_ref=repository.pk, product_id=key[0],
                                   license_model=key[1], metric=r.metric))
    for r in rows:
        base = real.get((r.product_id, r.license_model))
        r.real = base
        r.delta = {f: (getattr(r, f) or ZERO) - ((getattr(base, f) or ZERO) if base else ZERO)
                   for f in ("required", "purchased", "covered", "shortfall", "surplus", "shortfall_cost")}
    return _with_products(rows)


def position_row(*, tenant: Tenant, product_id: int, license_model: str, as_of: dt.date) -> BalanceRow | None:
    """The stored position (product × license model) of ``as_of``: addressed by what it is, not by row id."""
    return (BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True,
                                      product_id=product_id, license_model=license_model)
            .select_related("product__publisher").first())


def position_days(*, tenant: Tenant, product_id: int, license_model: str) -> list[dt.date]:
    """The stored days that have this position, newest first."""
    return list(BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True, product_id=product_id,
                                          license_model=license_model)
                .order_by("-as_of").values_list("as_of", flat=True))


def rows_filtered(rows: list[BalanceRow], *, publisher: str = "", product: str = "", license_model: str = "",
                  status: str = "") -> list[BalanceRow]:
    """The balance page's filters (in memory: a day has one row per position)."""
    def keep(r: BalanceRow) -> bool:
        if publisher and publisher.lower() not in r.product.publisher.name.lower():
            return False
        if product and product.lower() not in f"{r.product.title} {r.product.version} {r.product.edition}".lower():
            return False
        if license_model and license_model.lower() not in r.license_model.lower():
            return False
        return not status or r.status == status

    return [r for r in rows if keep(r)]


# --- one position -----------------------------------------------------------------------------------


@dataclass
class PositionDetail:
    row: BalanceRow
    requirements: list
    unconfirmed: list
    allocations: list[Allocation]
    own_licenses: list
    exemptions: list[Exemption]
    summary: dict[str, Any] = field(default_factory=dict)
    from_history: bool = False


def _requirement_links(items: list, *, history: bool) -> list:
    """Give requirements and history versions the same attributes for the templates (ids to link to)."""
    for r in items:
        if history:
            r.requirement_id = r.requirement_id_ref
            r.device_link, r.person_link = r.device_id_ref, r.person_id_ref
            r.consumer_name = r.consumer
        else:
            r.requirement_id = r.pk
            r.device_link, r.person_link = r.device_id, r.person_id
            r.consumer_name = str(r.consumer) if r.consumer is not None else r.consumer_key
    return items


def position_requirements(*, tenant: Tenant, product_id: int, license_model: str, as_of: dt.date,
                          limit: int = 500) -> tuple[list, bool]:
    """The requirements a position of ``as_of`` was built from, and whether they come from the history.

    A day before the last engine day the history knows is read from the history (what that day's
    balance counted); otherwise the stored requirements are that day's.
    """
    from requirements_engine.history import history_applies, history_on

    by_model = Q(license_model=license_model) | Q(license_model="")
    if history_applies(tenant=tenant, as_of=as_of):
        rows = list(history_on(tenant=tenant, as_of=as_of).filter(product_id=product_id).filter(by_model)
                    .order_by("consumer_key")[:limit])
        return _requirement_links(rows, history=True), True
    rows = list(Requirement.objects.filter(tenant=tenant, product_id=product_id).filter(by_model)
                .select_related("device", "person").order_by("id")[:limit])
    return _requirement_links(rows, history=False), False


def position_detail(*, tenant: Tenant, row: BalanceRow) -> PositionDetail:
    """Requirements (of the row's day), allocations with their rules, own licenses and exemptions of one position."""
    from entitlements.models import Entitlement
    from requirements_engine.coverage import entitlements_counted

    reqs, from_history = position_requirements(tenant=tenant, product_id=row.product_id,
                                               license_model=row.license_model, as_of=row.as_of)
    exempt_ids = set(Exemption.objects.filter(tenant=tenant, revoked_at__isnull=True,
                                              requirement_id__in=[r.requirement_id for r in reqs])
                     .values_list("requirement_id", flat=True))
    counted = [r for r in reqs if r.confirmation == ConfirmationState.CONFIRMED and r.effective
               and not r.is_secondary and not r.error]
    unconfirmed = [r for r in reqs if r.confirmation != ConfirmationState.CONFIRMED]
    for r in reqs:
        r.exempt = r.requirement_id in exempt_ids
        r.confirmation_label = dict(ConfirmationState.choices).get(r.confirmation, r.confirmation)
    allocations = list(Allocation.objects.filter(tenant=tenant, as_of=row.as_of, product_id=row.product_id,
                                                 license_model=row.license_model,
                                                 repository_id_ref__isnull=True)
                       .select_related("entitlement__product__publisher").order_by("entitlement_id"))
    counted_ids = set(entitlements_counted(tenant=tenant, as_of=row.as_of).values_list("id", flat=True))
    own = list(Entitlement.objects.filter(tenant=tenant, product_id=row.product_id, type="license")
               .filter(Q(license_model=row.license_model) | Q(license_model=""))
               .select_related("repository").order_by("id"))
    used = dict(Allocation.objects.filter(tenant=tenant, as_of=row.as_of, entitlement__in=own,
                                          repository_id_ref__isnull=True)
                .values("entitlement_id").annotate(total=Sum("units")).values_list("entitlement_id", "total"))
    for ent in own:
        ent.counted = ent.id in counted_ids
        ent.allocated = used.get(ent.id, ZERO)
    exemptions = list(Exemption.objects.filter(tenant=tenant).filter(
        Q(requirement__product_id=row.product_id) | Q(product_id=row.product_id))
        .select_related("device", "person").order_by("-created_at"))
    by_rule: dict[str, Decimal] = defaultdict(Decimal)
    for a in allocations:
        by_rule[a.rule] += a.units
    return PositionDetail(row=row, requirements=[r for r in reqs if r not in unconfirmed],
                          unconfirmed=unconfirmed, allocations=allocations, own_licenses=own,
                          exemptions=exemptions, from_history=from_history,
                          summary={"counted": len(counted), "by_rule": dict(sorted(by_rule.items()))})


# --- remediation ------------------------------------------------------------------------------------------

#: A consumer whose evidence is older than this is a candidate to clean up before buying.
STALE_DAYS = 90


def position_remediation(*, tenant: Tenant, row: BalanceRow) -> dict[str, Any]:
    """What closes a shortfall, as ServiceNow's remediation lists it (a read; suggestions only).

    * ``buy``: the cheapest SKU of this product and license model at catalog list price –
      N = ceil(shortfall / units per SKU), cost = N × list price;
    * ``reharvest``: surplus of other positions of the same product line whose licenses may cover
      this one by a version or edition downgrade right (same title and model, a newer version or a
      higher-ranked edition);
    * ``cleanup``: counted requirements of consumers that are inactive, not relevant, or whose
      evidence is older than ``STALE_DAYS`` – removing them lowers the demand.
    """
    import math

    from catalog.selectors import edition_rank_lookup, skus_for_product
    from inventory.selectors import relevant_device_ids, relevant_person_ids
    from requirements_engine.models import Foundation

    out: dict[str, Any] = {"buy": None, "reharvest": [], "cleanup": []}
    if row.shortfall <= 0:
        return out
    skus = [s for s in skus_for_product(tenant=tenant, product_id=row.product_id)
            if s.list_price is not None and s.license_type not in ("maintenance", "upgrade")
            and (s.license_model or row.license_model) == row.license_model]
    offers = []
    for s in skus:
        units = Decimal(s.units or 1) or Decimal(1)
        count = math.ceil(row.shortfall / units)
        offers.append({"sku": s.part_number, "description": s.description, "count": count, "units": units,
                       "list_price": s.list_price, "currency": s.currency,
                       "cost": (count * s.list_price).quantize(Decimal("0.01"))})
    if offers:
        out["buy"] = min(offers, key=lambda o: (o["cost"], o["sku"]))
    product = row.product
    rank = edition_rank_lookup(tenant=tenant)
    mine = rank(product.publisher.name, product.title, product.edition)
    need = row.shortfall
    for other in (BalanceRow.objects.filter(tenant=tenant, as_of=row.as_of, repository_id_ref__isnull=True,
                                            license_model=row.license_model, surplus__gt=0,
                                            product__publisher_id=product.publisher_id, product__title=product.title)
                  .exclude(product_id=row.product_id).select_related("product__publisher")
                  .order_by("-product__version_sort", "product__edition")):
        p = other.product
        newer = (p.version_sort or "") > (product.version_sort or "") and p.edition == product.edition
        theirs = rank(p.publisher.name, p.title, p.edition)
        higher = (p.version == product.version and mine is not None and theirs is not None and theirs > mine)
        if (newer or higher) and need > 0:
            take = min(other.surplus, need)
            need -= take
            out["reharvest"].append({"row": other, "units": take,
                                     "right": "version downgrade" if newer else "edition downgrade"})
    reqs, _history = position_requirements(tenant=tenant, product_id=row.product_id,
                                           license_model=row.license_model, as_of=row.as_of)
    counted = [r for r in reqs if r.confirmation == ConfirmationState.CONFIRMED and r.effective
               and not r.is_secondary and not r.error]
    if counted:
        devices = {r.device_link for r in counted if r.device_link}
        persons = {r.person_link for r in counted if r.person_link}
        live_devices = set(relevant_device_ids(tenant=tenant).filter(pk__in=devices)) if devices else set()
        live_persons = set(relevant_person_ids(tenant=tenant).filter(pk__in=persons)) if persons else set()
        horizon = row.as_of - dt.timedelta(days=STALE_DAYS)
        last_seen = dict(Foundation.objects.filter(tenant=tenant, requirement_id__in=[r.requirement_id for r in counted])
                         .values("requirement_id").annotate(last=Max("last_true"))
                         .values_list("requirement_id", "last"))
        for r in counted:
            why = ""
            if r.device_link and r.device_link not in live_devices:
                why = "device not relevant (status or power)"
            elif r.person_link and r.person_link not in live_persons:
                why = "person inactive"
            elif last_seen.get(r.requirement_id) and last_seen[r.requirement_id] < horizon:
                why = f"no evidence since {last_seen[r.requirement_id].isoformat()}"
            if why:
                out["cleanup"].append({"requirement": r, "why": why})
    return out


# --- dashboards -----------------------------------------------------------------------------------------


def compliance_by_publisher(*, tenant: Tenant, as_of: dt.date) -> list[dict]:
    """Required, covered, shortfall and its cost per publisher on ``as_of`` (one aggregate query)."""
    rows = (BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
            .values("product__publisher_id", "product__publisher__name")
            .annotate(required=Sum("required"), covered=Sum("covered"), shortfall=Sum("shortfall"),
                      shortfall_cost=Sum("shortfall_cost"), surplus=Sum("surplus"), positions=Count("id"))
            .order_by("product__publisher__name"))
    return [{"publisher_id": r["product__publisher_id"], "publisher": r["product__publisher__name"],
             "required": r["required"] or ZERO, "covered": r["covered"] or ZERO, "shortfall": r["shortfall"] or ZERO,
             "shortfall_cost": r["shortfall_cost"] or ZERO, "surplus": r["surplus"] or ZERO,
             "positions": r["positions"]} for r in rows]


def balance_trend(*, tenant: Tenant, until: dt.date, days: int = 90) -> list[dict]:
    """Per stored day: positions, in shortfall, required, covered, shortfall (one aggregate query)."""
    since = until - dt.timedelta(days=days)
    rows = (BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True, as_of__gte=since,
                                      as_of__lte=until)
            .values("as_of")
            .annotate(required_total=Sum("required"), covered_total=Sum("covered"),
                      shortfall_total=Sum("shortfall"), cost=Sum("shortfall_cost"), positions=Count("id"),
                      short_positions=Count("id", filter=Q(shortfall__gt=0)))
            .order_by("as_of"))
    return [{"as_of": r["as_of"], "required": r["required_total"], "covered": r["covered_total"],
             "shortfall": r["shortfall_total"], "cost": r["cost"], "positions": r["positions"],
             "short_positions": r["short_positions"]} for r in rows]


def top_shortfalls(*, tenant: Tenant, as_of: dt.date, limit: int = 10) -> list[BalanceRow]:
    return list(BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True, shortfall__gt=0)
                .select_related("product__publisher").order_by("-shortfall_cost", "-shortfall", "id")[:limit])


def savings(*, tenant: Tenant, as_of: dt.date, limit: int = 20) -> list[dict]:
    """Surplus licenses to harvest or not renew, with the value they represent.

    A subscription or maintenance that ends within 90 days with surplus is a renewal you can shrink;
    perpetual surplus can be re-harvested for future demand instead of buying.
    """
    from entitlements.models import Entitlement
    from requirements_engine.coverage import catalog_facts

    rows = list(BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True, surplus__gt=0)
                .select_related("product__publisher").order_by("-surplus", "id")[:limit])
    if not rows:
        return []
    facts = catalog_facts(tenant=tenant, product_ids=[r.product_id for r in rows])
    renewal = set(Entitlement.objects.filter(
        tenant=tenant, type="license", product_id__in=[r.product_id for r in rows], end_date__gte=as_of,
        end_date__lte=as_of + dt.timedelta(days=90)).values_list("product_id", flat=True))
    out = []
    for r in rows:
        price = facts.price(r.product_id, r.license_model)
        out.append({"row": r, "value": (r.surplus * price).quantize(Decimal("0.01")) if price is not None else None,
                    "action": "do not renew" if r.product_id in renewal else "harvest"})
    return out


# --- what changed ---------------------------------------------------------------------------------------


@dataclass
class PositionChange:
    product: Any
    license_model: str
    required: tuple[Decimal, Decimal]
    covered: tuple[Decimal, Decimal]
    shortfall: tuple[Decimal, Decimal]
    requirements: list[dict] = field(default_factory=list)  # {kind, consumer, before, after, causes}
    licenses: list[dict] = field(default_factory=list)  # {kind, entitlement, units, other, causes}
    in_from: bool = True
    in_to: bool = True

    @property
    def required_delta(self) -> Decimal:
        return self.required[1] - self.required[0]

    @property
    def covered_delta(self) -> Decimal:
        return self.covered[1] - self.covered[0]


@dataclass
class ReqState:
    """A requirement as one day saw it (from the history or the stored requirements)."""

    key: tuple[str, int]
    requirement_id: int
    consumer: str
    device_id: int | None
    person_id: int | None
    product_id: int
    license_model: str
    quantity: Decimal
    confirmation: str


def requirements_state(*, tenant: Tenant, as_of: dt.date, default_models: dict[int, str]) -> dict[tuple, ReqState]:
    """Every requirement of ``as_of`` keyed by (consumer, product), its model resolved to the position's."""
    from requirements_engine.history import history_applies, history_on

    out: dict[tuple, ReqState] = {}
    if history_applies(tenant=tenant, as_of=as_of):
        rows = history_on(tenant=tenant, as_of=as_of).values_list(
            "consumer_key", "product_id", "requirement_id_ref", "consumer", "device_id_ref", "person_id_ref",
            "license_model", "quantity", "confirmation")
    else:
        rows = Requirement.objects.filter(tenant=tenant).values_list(
            "consumer_key", "product_id", "id", "device__name", "device_id", "person_id", "license_model", "quantity",
            "confirmation", "person__username")
        rows = [(ck, pid, rid, dname or uname or ck, did, prid, model, q, conf)
                for ck, pid, rid, dname, did, prid, model, q, conf, uname in rows]
    for ck, pid, rid, name, did, prid, model, quantity, confirmation in rows:
        out[(ck, pid)] = ReqState((ck, pid), rid, name or ck, did, prid, pid, model or default_models.get(pid, ""),
                                  quantity, confirmation)
    return out


def _window(*, tenant: Tenant, day_from: dt.date, day_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The time between the two snapshots: after the first was computed, until the second was."""
    stamps = dict(BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True, as_of__in=[day_from, day_to])
                  .values("as_of").annotate(last=Max("computed_at")).values_list("as_of", "last"))
    start, end = stamps.get(day_from), stamps.get(day_to)
    if start is None or end is None or start >= end:
        start = dt.datetime.combine(min(day_from, day_to), dt.time.min, tzinfo=dt.UTC)
        end = dt.datetime.combine(max(day_from, day_to) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    return start, end


def balance_changes(*, tenant: Tenant, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    """What changed per position between two stored days, and why.

    Per position: required/covered/shortfall before → after; requirements added, removed and changed
    (quantity, license model, confirmation) from the requirement history; licenses added, removed,
    re-allocated (moved between positions) or with other units, from the stored allocations. Each
    change names its causes: the audit events on that requirement, its consumer or that license
    between the two snapshots; for a license that only moved, the requirement changes of the
    positions it moved between; and the reasons of the recomputes that ran in between. A fixed
    number of queries.
    """
    from catalog.models import Product
    from entitlements.models import Entitlement
    from requirements_engine.coverage import catalog_facts

    base = BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
    before = {(r.product_id, r.license_model): r for r in base.filter(as_of=day_from)}
    after = {(r.product_id, r.license_model): r for r in base.filter(as_of=day_to)}
    facts = catalog_facts(tenant=tenant)
    req_from = requirements_state(tenant=tenant, as_of=day_from, default_models=facts.default_models)
    req_to = requirements_state(tenant=tenant, as_of=day_to, default_models=facts.default_models)
    alloc: dict[str, dict[int, dict[tuple, Decimal]]] = {"from": defaultdict(dict), "to": defaultdict(dict)}
    for side, day in (("from", day_from), ("to", day_to)):
        for pid, model, ent, units in (Allocation.objects.filter(tenant=tenant, as_of=day,
                                                                 repository_id_ref__isnull=True)
                                       .values_list("product_id", "license_model", "entitlement_id", "units")):
            alloc[side][ent][(pid, model)] = alloc[side][ent].get((pid, model), ZERO) + units

    start, end = _window(tenant=tenant, day_from=day_from, day_to=day_to)
    events = list(AuditEvent.objects.filter(tenant=tenant, at__gt=start, at__lte=end)
                  .exclude(action__startswith="requirements.reconciliation").order_by("at", "id")[:2000])
    by_object: dict[tuple[str, str], list[AuditEvent]] = defaultdict(list)
    for e in events:
        by_object[(e.object_type, e.object_id)].append(e)
    jobs = list(Job.objects.filter(tenant=tenant, kind="recompute", created_at__gt=start, created_at__lte=end)
                .order_by("created_at", "id")[:200])
    reasons = []
    for job in jobs:
        for reason in job.params.get("reasons") or ([job.message] if job.message else []):
            reasons.append({"at": job.created_at, "job": job, "reason": reason})

    def req_causes(state: ReqState) -> list[AuditEvent]:
        found = list(by_object.get(("requirements_engine.requirement", str(state.requirement_id)), []))
        if state.device_id:
            found += by_object.get(("inventory.device", str(state.device_id)), [])
        if state.person_id:
            found += by_object.get(("inventory.person", str(state.person_id)), [])
        return sorted(found, key=lambda e: (e.at, e.id))

    per_position: dict[tuple, PositionChange] = {}

    def position(key: tuple) -> PositionChange:
        if key not in per_position:
            b, a = before.get(key), after.get(key)
            req, cov, short = ((getattr(b, f) if b else ZERO, getattr(a, f) if a else ZERO)
                               for f in ("required", "covered", "shortfall"))
            per_position[key] = PositionChange(None, key[1], req, cov, short, in_from=b is not None,
                                               in_to=a is not None)
        return per_position[key]

    for key in set(req_from) | set(req_to):
        old, new = req_from.get(key), req_to.get(key)
        if old is None:
            position((new.product_id, new.license_model)).requirements.append(
                {"kind": "added", "state": new, "before": None, "after": new, "causes": req_causes(new)})
        elif new is None:
            position((old.product_id, old.license_model)).requirements.append(
                {"kind": "removed", "state": old, "before": old, "after": None, "causes": req_causes(old)})
        else:
            fields = [f for f in ("quantity", "license_model", "confirmation") if getattr(old, f) != getattr(new, f)]
            if not fields:
                continue
            entry = {"kind": "changed", "state": new, "before": old, "after": new, "fields": fields,
                     "causes": req_causes(new)}
            position((new.product_id, new.license_model)).requirements.append(entry)
            if old.license_model != new.license_model:
                position((old.product_id, old.license_model)).requirements.append(entry)

    moved_ents: dict[int, tuple[set, set]] = {}
    for ent in set(alloc["from"]) | set(alloc["to"]):
        was, now = alloc["from"].get(ent, {}), alloc["to"].get(ent, {})
        for pos in set(was) | set(now):
            u0, u1 = was.get(pos), now.get(pos)
            if u0 == u1:
                continue
            if u0 is None:
                kind = "re-allocated here" if set(was) - set(now) else "added"
                other = sorted(set(was) - set(now))
            elif u1 is None:
                kind = "re-allocated away" if set(now) - set(was) else "removed"
                other = sorted(set(now) - set(was))
            else:
                kind, other = "units changed", []
            position(pos).licenses.append({"kind": kind, "entitlement_id": ent, "units": (u0 or ZERO, u1 or ZERO),
                                           "other": other})
            moved_ents[ent] = (set(was), set(now))

    for key in set(before) | set(after):
        b, a = before.get(key), after.get(key)
        if (b is None) != (a is None) or (b and a and (b.required != a.required or b.covered != a.covered)):
            position(key)

    products = Product.objects.select_related("publisher").in_bulk({k[0] for k in per_position}
                                                                   | {o[0] for c in per_position.values()
                                                                      for lic in c.licenses for o in lic["other"]})
    ents = Entitlement.objects.select_related("product__publisher").in_bulk(moved_ents)
    for key, change in per_position.items():
        change.product = products.get(key[0])
        for lic in change.licenses:
            lic["entitlement"] = ents.get(lic["entitlement_id"])
            lic["other"] = [{"product": products.get(o[0]), "product_id": o[0], "license_model": o[1]}
                            for o in lic["other"]]
            own = by_object.get(("entitlements.entitlement", str(lic["entitlement_id"])), [])
            lic["causes"] = list(own)
            # A license that only moved follows the demand: the requirement changes where it moved.
            was, now = moved_ents[lic["entitlement_id"]]
            lic["demand_causes"] = [r for pos in sorted(was | now) if pos in per_position
                                    for r in per_position[pos].requirements]
        change.requirements.sort(key=lambda r: (r["kind"], r["state"].consumer))
    changes = sorted(per_position.values(), key=lambda c: (
        c.product.publisher.name if c.product else "", c.product.title if c.product else "",
        c.product.version_sort if c.product else "", c.product.edition if c.product else "", c.license_model))
    return {"changes": changes, "events": events[:200], "reasons": reasons, "window": (start, end)}


# --- reconciliation per publisher ------------------------------------------------------------------------

CHECKLIST = [
    ("agreements", "Volume license agreements collected and recorded"),
    ("licenses", "Purchased licenses recorded with proof of purchase; invalid ones resolved"),
    ("license_models", "License models of each product reviewed (metric, assignment, default)"),
    ("rights", "Downgrade, upgrade, bundle and maintenance chains set up"),
    ("fingerprints", "Fingerprints reviewed: no unknown installations left"),
    ("requirements", "Requirements confirmed; unauthorised deployments followed up"),
    ("balance", "Resulting balance reviewed and signed off by the team"),
]


def reconciliation(*, tenant: Tenant, publisher, scope: str, as_of: dt.date) -> dict[str, Any]:
    """Everything the team reviews for one publisher (optionally desktop or server software only)."""
    from catalog.selectors import products_visible
    from entitlements.models import Contract, Entitlement
    from inventory.models import Fingerprint
    from requirements_engine.coverage import catalog_facts

    # Only the products this tenant may see: another tenant's private products stay hidden.
    products = list(products_visible(tenant=tenant).filter(publisher=publisher)
                    .order_by("title", "version_sort", "edition"))
    ids = [p.id for p in products]
    reqs = Requirement.objects.filter(tenant=tenant, product_id__in=ids)
    server_products = set(reqs.filter(device__role="server").values_list("product_id", flat=True).distinct())
    if scope == "server":
        keep = server_products
    elif scope == "desktop":
        keep = set(ids) - server_products
    else:
        keep = set(ids)
    products = [p for p in products if p.id in keep]
    facts = catalog_facts(tenant=tenant, product_ids=keep)
    models_used: dict[int, set[str]] = defaultdict(set)
    for pid, model in reqs.filter(product_id__in=keep).values_list("product_id", "license_model").distinct():
        models_used[pid].add(model)
    licenses = list(Entitlement.objects.filter(tenant=tenant, product_id__in=keep)
                    .select_related("product", "repository", "contract").order_by("product_id", "id"))
    for pid, model in ((e.product_id, e.license_model) for e in licenses):
        if model:
            models_used[pid].add(model)
    product_models = [{"product": p, "default": facts.default_models.get(p.id, ""),
                       "used": sorted(m for m in models_used.get(p.id, ()) if m),
                       "metric": facts.metric(facts.default_models.get(p.id, ""))} for p in products]
    name = publisher.name
    unknown = list(Fingerprint.objects.filter(tenant=tenant, classification="unknown")
                   .filter(publisher__icontains=name.split()[0] if name else name)
                   .annotate(installs=Count("installations")).order_by("name")[:200])
    open_reqs = (reqs.filter(product_id__in=keep).exclude(confirmation=ConfirmationState.CONFIRMED)
                 .select_related("product", "device", "person").order_by("product_id", "id"))
    rows = [r for r in BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True,
                                                 product_id__in=keep).select_related("product__publisher")
            .order_by("product__title", "product__version_sort", "product__edition")]
    items = {i.key: i for i in ReconciliationItem.objects.filter(tenant=tenant, publisher=publisher, scope=scope)}
    comments = list(ReconciliationComment.objects.filter(tenant=tenant, publisher=publisher, scope=scope))
    checklist = [{"key": key, "label": label, "item": items.get(key),
                  "comments": [c for c in comments if c.key == key]} for key, label in CHECKLIST]
    return {
        "products": products,
        "contracts": list(Contract.objects.filter(tenant=tenant, publisher=publisher).order_by("number")),
        "licenses": licenses,
        "invalid": [e for e in licenses if e.errors],
        "product_models": product_models,
        "unknown_fingerprints": unknown,
        "unconfirmed": [r for r in open_reqs if r.confirmation == ConfirmationState.UNCONFIRMED][:500],
        "unauthorised": [r for r in open_reqs if r.confirmation == ConfirmationState.UNAUTHORISED][:500],
        "rows": rows,
        "checklist": checklist,
        "done": sum(1 for c in checklist if c["item"] and c["item"].done),
        "general_comments": [c for c in comments if not c.key],
    }


def exemptions_list(*, tenant: Tenant, as_of: dt.date | None = None):
    """Every exemption (auditors see revoked and expired ones too), newest first."""
    qs = Exemption.objects.filter(tenant=tenant).select_related(
        "requirement__product__publisher", "device", "person", "product__publisher", "created_by")
    return qs.order_by("-created_at", "-id")


# --- consumer panels (device and person pages of the inventory) -------------------------------------------


def consumer_licensing(*, tenant: Tenant, device=None, person=None) -> dict[str, Any]:
    """A consumer's requirements, each with its position on the current day and the licenses allocated there.

    Allocation is per position (product × license model), so "licenses allocated to this consumer"
    are the licenses covering the positions its requirements count in. Three queries.
    """
    from requirements_engine.coverage import catalog_facts

    qs = Requirement.objects.filter(tenant=tenant)
    qs = qs.filter(device=device) if device is not None else qs.filter(person=person)
    reqs = list(qs.select_related("product__publisher").order_by("product__publisher__name", "product__title",
                                                                  "product__version_sort", "product__edition"))
    as_of = balance_latest_day(tenant=tenant)
    if not reqs:
        return {"requirements": [], "as_of": as_of}
    facts = catalog_facts(tenant=tenant, product_ids={r.product_id for r in reqs})
    for r in reqs:
        r.position_model = r.license_model or facts.default_models.get(r.product_id, "")
    rows: dict[tuple, BalanceRow] = {}
    allocs: dict[tuple, list[Allocation]] = defaultdict(list)
    if as_of is not None:
        product_ids = {r.product_id for r in reqs}
        rows = {(b.product_id, b.license_model): b for b in BalanceRow.objects.filter(
            tenant=tenant, as_of=as_of, repository_id_ref__isnull=True, product_id__in=product_ids)}
        for a in (Allocation.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True,
                                            product_id__in=product_ids)
                  .select_related("entitlement").order_by("entitlement_id")):
            allocs[(a.product_id, a.license_model)].append(a)
    for r in reqs:
        key = (r.product_id, r.position_model)
        r.position = rows.get(key)
        r.allocations = allocs.get(key, [])
    return {"requirements": reqs, "as_of": as_of}


def _consumer_panel(*, obj, tenant, membership, kind: str):
    if membership is None or not membership.has_perm("requirements.view"):
        return None
    data = consumer_licensing(tenant=tenant, **{kind: obj})
    return "requirements_engine/balance/partials/consumer_panel.html", {"licensing": data, "consumer_kind": kind}


def consumer_panel_device(*, obj, tenant, membership):
    """The device page's panel: its requirements and the licenses allocated to their positions."""
    return _consumer_panel(obj=obj, tenant=tenant, membership=membership, kind="device")


def consumer_panel_person(*, obj, tenant, membership):
    """The person page's panel: their requirements and the licenses allocated to their positions."""
    return _consumer_panel(obj=obj, tenant=tenant, membership=membership, kind="person")
