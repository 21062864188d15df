"""Reads of the compliance balance: stored daily rows, position details, trends, reconciliation, changes.

Every function takes the tenant explicitly and reads with a fixed number of queries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from requirements_engine.models import Allocation, BalanceRow, ConfirmationState, Requirement
from requirements_engine.models_balance import Exemption, ReconciliationComment, ReconciliationItem
from sam.models import AuditEvent, Job, Tenant

ZERO = Decimal(0)


# --- rows -----------------------------------------------------------------------------------------


def balance_days(*, tenant: Tenant) -> list[dt.date]:
    """The days that have stored balance rows, newest first."""
    return list(BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
                .order_by("-as_of").values_list("as_of", flat=True).distinct())


def balance_latest_day(*, tenant: Tenant) -> dt.date | None:
    return (BalanceRow.objects.filter(tenant=tenant, repository_id_ref__isnull=True)
            .order_by("-as_of").values_list("as_of", flat=True).first())


def balance_rows(*, tenant: Tenant, as_of: dt.date, repository=None, compute_missing: bool = True) -> list[BalanceRow]:
    """The balance for ``as_of``: the stored rows (computed first when that day has none), or a what-if.

    A what-if (``repository`` given) is computed in memory; stored rows are not touched.
    """
    from catalog.models import Product
    from requirements_engine.balance import balance_compute

    if repository is not None:
        rows = balance_compute(tenant=tenant, as_of=as_of, repository=repository)["rows"]
        products = Product.objects.select_related("publisher").in_bulk([r.product_id for r in rows])
        for r in rows:
            r.product = products[r.product_id]
        return rows
    qs = (BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True)
          .select_related("product__publisher")
          .order_by("product__publisher__name", "product__title", "product__version_sort", "product__edition",
                    "license_model"))
    rows = list(qs)
    if not rows and compute_missing:
        balance_compute(tenant=tenant, as_of=as_of)
        rows = list(qs.all())
    return rows


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
    requirements: list[Requirement]
    unconfirmed: list[Requirement]
    allocations: list[Allocation]
    own_licenses: list
    exemptions: list[Exemption]
    summary: dict[str, Any] = field(default_factory=dict)


def position_detail(*, tenant: Tenant, row: BalanceRow) -> PositionDetail:
    """Requirements, allocations with their rules, own licenses and exemptions of one position."""
    from entitlements.models import Entitlement
    from requirements_engine.coverage import entitlements_counted

    reqs = list(Requirement.objects.filter(tenant=tenant, product_id=row.product_id)
                .filter(Q(license_model=row.license_model) | Q(license_model=""))
                .select_related("device", "person").order_by("id")[:500])
    exempt_ids = set(Exemption.objects.filter(tenant=tenant, revoked_at__isnull=True, requirement__in=reqs)
                     .values_list("requirement_id", flat=True))
    counted = [r for r in reqs if r.confirmation == ConfirmationState.CONFIRMED and r.effective
               and not r.is_secondary and not r.error]
    unconfirmed = [r for r in reqs if r.confirmation != ConfirmationState.CONFIRMED]
    for r in reqs:
        r.exempt = r.id in exempt_ids
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
        Q(requirement__product_id=row.product_id) | Q(product_id=row.product_id)).order_by("-created_at"))
    by_rule: dict[str, Decimal] = defaultdict(Decimal)
    for a in allocations:
        by_rule[a.rule] += a.units
    return PositionDetail(row=row, requirements=[r for r in reqs if r not in unconfirmed],
                          unconfirmed=unconfirmed, allocations=allocations, own_licenses=own,
                          exemptions=exemptions,
                          summary={"counted": len(counted), "by_rule": dict(sorted(by_rule.items()))})


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
    licenses_added: list = field(default_factory=list)
    licenses_removed: list = field(default_factory=list)

    @property
    def required_delta(self) -> Decimal:
        return self.required[1] - self.required[0]

    @property
    def covered_delta(self) -> Decimal:
        return self.covered[1] - self.covered[0]


def balance_changes(*, tenant: Tenant, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
    """What changed between two stored days, and why.

    Positions whose required or covered units moved; licenses that started or stopped covering them
    (from the stored allocations); requirements that appeared in between; and the causes recorded
    in the audit log and in the reasons of the recomputes that ran in between.
    """
    from catalog.models import Product
    from entitlements.models import Entitlement

    before = {(r.product_id, r.license_model): r for r in BalanceRow.objects.filter(
        tenant=tenant, as_of=day_from, repository_id_ref__isnull=True)}
    after = {(r.product_id, r.license_model): r for r in BalanceRow.objects.filter(
        tenant=tenant, as_of=day_to, repository_id_ref__isnull=True)}
    alloc_from = set(Allocation.objects.filter(tenant=tenant, as_of=day_from, repository_id_ref__isnull=True)
                     .values_list("product_id", "license_model", "entitlement_id"))
    alloc_to = set(Allocation.objects.filter(tenant=tenant, as_of=day_to, repository_id_ref__isnull=True)
                   .values_list("product_id", "license_model", "entitlement_id"))
    changed_keys = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        req, cov, short = ((getattr(b, f) if b else ZERO, getattr(a, f) if a else ZERO)
                           for f in ("required", "covered", "shortfall"))
        if req[0] != req[1] or cov[0] != cov[1]:
            changed_keys.append((key, req, cov, short))
    products = Product.objects.select_related("publisher").in_bulk([k[0][0] for k in changed_keys])
    ent_ids = {e for (_p, _m, e) in alloc_from ^ alloc_to}
    ents = Entitlement.objects.select_related("product").in_bulk(ent_ids)
    changes = []
    for key, req, cov, short in changed_keys:
        added = [ents[e] for (p, m, e) in sorted(alloc_to - alloc_from) if (p, m) == key and e in ents]
        removed = [ents[e] for (p, m, e) in sorted(alloc_from - alloc_to) if (p, m) == key and e in ents]
        changes.append(PositionChange(products[key[0]], key[1], req, cov, short, added, removed))
    start = dt.datetime.combine(min(day_from, day_to), dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(max(day_from, day_to) + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    changed_products = [k[0][0] for k in changed_keys]
    new_requirements = list(Requirement.objects.filter(tenant=tenant, product_id__in=changed_products,
                                                       created_at__gte=start, created_at__lt=end)
                            .select_related("product__publisher", "device", "person").order_by("id")[:200])
    events = list(AuditEvent.objects.filter(tenant=tenant, at__gte=start, at__lt=end)
                  .filter(Q(action__startswith="entitlements.") | Q(action__startswith="requirements")
                          | Q(action__startswith="inventory.") | Q(action__startswith="catalog.")
                          | Q(action__startswith="imports") | Q(action__startswith="sam.import"))
                  .order_by("at", "id")[:200])
    jobs = list(Job.objects.filter(tenant=tenant, kind="recompute", created_at__gte=start, created_at__lt=end)
                .order_by("created_at", "id")[:50])
    reasons = []
    for job in jobs:
        for reason in job.params.get("reasons") or ([job.message] if job.message else []):
            reasons.append({"at": job.created_at, "job": job, "reason": reason})
    return {"changes": changes, "new_requirements": new_requirements, "events": events, "reasons": reasons}


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
