"""Reading receiving inspection: the queue, its counts, and the collection rate.

Every selector issues a fixed number of queries; counts are SQL aggregates, never Python loops over
lines.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, Upper
from django.utils import timezone

from receiving.models import ImportBatch, LineStatus, PurchaseLine
from sam.models import Tenant

AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7 days", 0, 7), ("8–30 days", 8, 30), ("31–90 days", 31, 90), ("over 90 days", 91, None),
)


@dataclass
class QueueFilters:
    """The queue's filters, read from the query string; the page, the export and "all matching" share them."""

    reason: str = ""
    batch: int | None = None
    supplier: str = ""
    publisher: str = ""
    sku: str = ""
    min_age_days: int | None = None
    status: str = LineStatus.WAITING
    assigned: str = ""  # "me", "none", "any" or "" (any)
    breached: bool = False
    tenant: str = ""  # the workspace's tenant filter (a slug)

    @classmethod
    def from_query(cls, params: Any) -> QueueFilters:
        def number(key: str) -> int | None:
            try:
                return int(params.get(key, "")) if str(params.get(key, "")).strip() else None
            except ValueError:
                return None

        status = params.get("status", LineStatus.WAITING)
        assigned = params.get("assigned", "").strip()
        return cls(reason=params.get("reason", "").strip(), batch=number("batch"),
                   supplier=params.get("supplier", "").strip(), publisher=params.get("publisher", "").strip(),
                   sku=params.get("sku", "").strip(), min_age_days=number("age"),
                   status=status if status in LineStatus.values else LineStatus.WAITING,
                   assigned=assigned if assigned in ("me", "none") else "",
                   breached=params.get("breached", "") in ("1", "on", "true", "yes"),
                   tenant=params.get("tenant", "").strip())


def queue_lines(*, tenant: Tenant, filters: QueueFilters, user: Any = None) -> QuerySet[PurchaseLine]:
    """Lines of the queue (waiting by default), oldest first, filtered in SQL."""
    return _filtered(PurchaseLine.objects.all(), filters=filters, tenants=[tenant], user=user)


def _filtered(qs: QuerySet[PurchaseLine], *, filters: QueueFilters, tenants: list[Tenant],
              user: Any = None) -> QuerySet[PurchaseLine]:
    qs = qs.filter(status=filters.status)
    if filters.assigned == "me" and user is not None:
        qs = qs.filter(assigned_to=user)
    elif filters.assigned == "none":
        qs = qs.filter(assigned_to__isnull=True)
    if filters.breached:
        qs = qs.filter(breach_condition(tenants=tenants))
    if filters.reason:
        qs = qs.filter(reason_codes__contains=f",{filters.reason},")
    if filters.batch:
        qs = qs.filter(batch_id=filters.batch)
    if filters.supplier:
        qs = qs.filter(supplier__icontains=filters.supplier)
    if filters.publisher:
        qs = qs.filter(publisher__icontains=filters.publisher)
    if filters.sku:
        qs = qs.annotate(_sku=Upper("sku")).filter(_sku=filters.sku.upper())
    if filters.min_age_days is not None:
        qs = qs.filter(received_at__lte=timezone.now() - dt.timedelta(days=filters.min_age_days))
    return qs.order_by("id")


def reason_counts(*, tenant: Tenant, batch: int | None = None) -> list[tuple[str, int]]:
    """Waiting lines per reason code, most frequent first (one grouped query over code combinations)."""
    qs = PurchaseLine.objects.filter(status=LineStatus.WAITING)
    if batch:
        qs = qs.filter(batch_id=batch)
    counts: Counter = Counter()
    for codes, n in qs.values_list("reason_codes").annotate(n=Count("id")).order_by():
        for code in (codes or "").strip(",").split(","):
            if code:
                counts[code] += n
    return counts.most_common()


def unknown_sku_groups(*, tenant: Tenant, limit: int = 15) -> list[dict[str, Any]]:
    """The part numbers most waiting lines fail on (unknown or ambiguous), for mapping them at once."""
    rows = (PurchaseLine.objects.filter(status=LineStatus.WAITING)
            .filter(Q(reason_codes__contains=",sku.unknown,") | Q(reason_codes__contains=",sku.ambiguous,"))
            .values("sku").annotate(n=Count("id"), amount=Sum("amount")).order_by("-n", "sku")[:limit])
    return [{"sku": r["sku"], "lines": r["n"], "amount": r["amount"] or Decimal(0)} for r in rows]


@dataclass
class Rate:
    received: int = 0
    transferred: int = 0
    waiting: int = 0
    rejected: int = 0
    value_received: Decimal = Decimal(0)
    value_transferred: Decimal = Decimal(0)

    @property
    def by_lines(self) -> float | None:
        counted = self.received - self.rejected
        return round(100 * self.transferred / counted, 1) if counted else None

    @property
    def by_value(self) -> float | None:
        return round(float(100 * self.value_transferred / self.value_received), 1) if self.value_received else None


def _rate(qs) -> Rate:
    agg = qs.aggregate(
        received=Count("id"),
        transferred=Count("id", filter=Q(status=LineStatus.TRANSFERRED)),
        waiting=Count("id", filter=Q(status=LineStatus.WAITING)),
        rejected=Count("id", filter=Q(status=LineStatus.REJECTED)),
        value_received=Sum("amount", filter=~Q(status=LineStatus.REJECTED)),
        value_transferred=Sum("amount", filter=Q(status=LineStatus.TRANSFERRED)),
    )
    return Rate(received=agg["received"], transferred=agg["transferred"], waiting=agg["waiting"],
                rejected=agg["rejected"], value_received=agg["value_received"] or Decimal(0),
                value_transferred=agg["value_transferred"] or Decimal(0))


def collection_rate(*, tenant: Tenant, batch: int | None = None) -> Rate:
    """Lines received, transferred, waiting, rejected, and the rate by lines and by value.

    Rejected lines are set aside for good, so they count neither for nor against the rate.
    """
    qs = PurchaseLine.objects.all()
    if batch:
        qs = qs.filter(batch_id=batch)
    return _rate(qs)


def batch_rates(*, tenant: Tenant, limit: int = 20) -> list[dict[str, Any]]:
    """The latest batches with their counts (one grouped query)."""
    batches = list(ImportBatch.objects.order_by("-created_at", "-id")[:limit])
    ids = [b.pk for b in batches]
    stats = {r["batch_id"]: r for r in PurchaseLine.objects.filter(batch_id__in=ids).values("batch_id").annotate(
        received=Count("id"), transferred=Count("id", filter=Q(status=LineStatus.TRANSFERRED)),
        waiting=Count("id", filter=Q(status=LineStatus.WAITING)),
        rejected=Count("id", filter=Q(status=LineStatus.REJECTED))).order_by()}
    out = []
    for b in batches:
        s = stats.get(b.pk, {"received": 0, "transferred": 0, "waiting": 0, "rejected": 0})
        counted = s["received"] - s["rejected"]
        out.append({"batch": b, **{k: s[k] for k in ("received", "transferred", "waiting", "rejected")},
                    "rate": round(100 * s["transferred"] / counted, 1) if counted else None})
    return out


def ageing(*, tenant: Tenant) -> list[tuple[str, int]]:
    """Waiting lines by how long they have waited."""
    now = timezone.now()
    aggregates = {}
    for index, (_label, low, high) in enumerate(AGE_BUCKETS):
        cond = Q(received_at__lte=now - dt.timedelta(days=low))
        if high is not None:
            cond &= Q(received_at__gt=now - dt.timedelta(days=high + 1))
        aggregates[f"b{index}"] = Count("id", filter=cond)
    row = PurchaseLine.objects.filter(status=LineStatus.WAITING).aggregate(**aggregates)
    return [(label, row[f"b{index}"]) for index, (label, _l, _h) in enumerate(AGE_BUCKETS)]


def trend(*, tenant: Tenant, days: int = 90) -> dict[str, list]:
    """Per day of the last ``days``: lines received, and lines transferred (by their transfer day)."""
    since = timezone.now() - dt.timedelta(days=days)
    received = dict(PurchaseLine.objects.filter(received_at__gte=since).annotate(d=TruncDate("received_at"))
                    .values_list("d").annotate(n=Count("id")).order_by())
    transferred = dict(PurchaseLine.objects.filter(transferred_at__gte=since).annotate(d=TruncDate("transferred_at"))
                       .values_list("d").annotate(n=Count("id")).order_by())
    days_seen = sorted(set(received) | set(transferred))
    return {"labels": [d.isoformat() for d in days_seen], "received": [received.get(d, 0) for d in days_seen],
            "transferred": [transferred.get(d, 0) for d in days_seen]}


def my_queues(*, user) -> list[dict[str, Any]]:
    """For clearing staff in several tenants: waiting lines per tenant and reason.

    Only tenants where the user holds ``receiving.view``; the scope is entered for exactly those.
    """
    from django_scopes import scope

    from sam.models import Membership

    tenants = [m.tenant for m in Membership.objects.filter(user=user).select_related("tenant")
               if m.has_perm("receiving.view")]
    if not tenants:
        return []
    with scope(tenant=tenants):
        rows = (PurchaseLine.objects.filter(tenant__in=tenants, status=LineStatus.WAITING)
                .values_list("tenant_id", "reason_codes").annotate(n=Count("id")).order_by())
        per: dict[int, Counter] = {t.pk: Counter() for t in tenants}
        totals: Counter = Counter()
        for tenant_id, codes, n in rows:
            totals[tenant_id] += n
            for code in (codes or "").strip(",").split(","):
                if code:
                    per[tenant_id][code] += n
    return [{"tenant": t, "waiting": totals[t.pk], "reasons": per[t.pk].most_common()}
            for t in sorted(tenants, key=lambda t: t.name)]


# ---------------------------------------------------------------------------------------------
# Service levels and the cross-tenant workspace


def clear_within_days(tenant: Tenant) -> int | None:
    """The tenant's ageing target: waiting lines are cleared within this many working days (or None)."""
    value = tenant.setting("receiving_clear_within_days", None)
    try:
        return int(value) if value else None
    except (TypeError, ValueError):
        return None


def breach_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The moment ``days`` working days (Monday to Friday) before ``now``.

    A line received before it has waited more than ``days`` working days: the target is breached.
    Public holidays are not known and count as working days.
    """
    moment = now or timezone.now()
    left = days
    while left > 0:
        moment -= dt.timedelta(days=1)
        if moment.weekday() < 5:
            left -= 1
    return moment


def breach_condition(*, tenants: list[Tenant], now: dt.datetime | None = None) -> Q:
    """Waiting lines older than their own tenant's ageing target (tenants without a target: none)."""
    cond = Q(pk__in=[])
    for tenant in tenants:
        days = clear_within_days(tenant)
        if days:
            cond |= Q(tenant_id=tenant.pk, received_at__lt=breach_cutoff(days=days, now=now))
    return cond & Q(status=LineStatus.WAITING)


def workspace_tenants(*, user: Any, perm: str = "receiving.view") -> list[Tenant]:
    """The tenants where ``user`` holds ``perm``, by name: the only ones the workspace shows or changes."""
    from sam.models import Membership

    if not getattr(user, "is_authenticated", False):
        return []
    members = Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
    return [m.tenant for m in members if m.has_perm(perm)]


def workspace_tenants_for(*, user: Any) -> tuple[list[Tenant], list[Tenant]]:
    """(tenants where ``user`` reads receiving, tenants where they change it), with one query."""
    from sam.models import Membership

    if not getattr(user, "is_authenticated", False):
        return [], []
    members = list(Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name"))
    return ([m.tenant for m in members if m.has_perm("receiving.view")],
            [m.tenant for m in members if m.has_perm("receiving.change")])


def workspace_lines(*, tenants: list[Tenant], filters: QueueFilters, user: Any) -> QuerySet[PurchaseLine]:
    """The workspace's lines across ``tenants`` (call inside ``scope(tenant=tenants)``), oldest first.

    ``filters.tenant`` narrows to one of them by slug; a slug outside ``tenants`` matches nothing.
    """
    chosen = [t for t in tenants if not filters.tenant or t.slug == filters.tenant]
    qs = PurchaseLine.objects.filter(tenant__in=[t.pk for t in chosen])
    return _filtered(qs, filters=filters, tenants=chosen, user=user)


def workspace_figures(*, tenants: list[Tenant], user: Any) -> dict[str, int]:
    """The workspace's counters in one aggregate: waiting, mine, unassigned, breached, cleared today by me."""
    if not tenants:
        return {"waiting": 0, "mine": 0, "unassigned": 0, "breached": 0, "cleared_today": 0}
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = Q(status=LineStatus.WAITING)
    row = PurchaseLine.objects.filter(tenant__in=[t.pk for t in tenants]).filter(
        waiting | Q(transferred_at__gte=today, cleared_by=user) | Q(rejected_at__gte=today, rejected_by=user)
    ).aggregate(
        waiting=Count("id", filter=waiting),
        mine=Count("id", filter=waiting & Q(assigned_to=user)),
        unassigned=Count("id", filter=waiting & Q(assigned_to__isnull=True)),
        breached=Count("id", filter=breach_condition(tenants=tenants)),
        cleared_today=Count("id", filter=Q(transferred_at__gte=today, cleared_by=user)
                            | Q(rejected_at__gte=today, rejected_by=user)),
    )
    return {k: row[k] or 0 for k in ("waiting", "mine", "unassigned", "breached", "cleared_today")}


def breaches(*, tenants: list[Tenant]) -> list[dict[str, Any]]:
    """Per tenant with an ageing target: the target, the waiting lines past it and the oldest one."""
    with_target = [t for t in tenants if clear_within_days(t)]
    if not with_target:
        return []
    rows = {r["tenant_id"]: r for r in PurchaseLine.objects.filter(tenant__in=[t.pk for t in with_target])
            .filter(breach_condition(tenants=with_target)).values("tenant_id")
            .annotate(n=Count("id"), oldest=Min("received_at")).order_by()}
    return [{"tenant": t, "days": clear_within_days(t), "breached": rows.get(t.pk, {}).get("n", 0),
             "oldest": rows.get(t.pk, {}).get("oldest")} for t in with_target]


def throughput(*, tenants: list[Tenant], since: dt.datetime) -> list[dict[str, Any]]:
    """Per tenant and clerk since ``since``: lines cleared (transferred by them) and rejected by them,
    with the tenant's lines still waiting and past target. Two grouped queries and one aggregate."""
    from django.contrib.auth import get_user_model

    if not tenants:
        return []
    ids = [t.pk for t in tenants]
    per: dict[tuple[int, int | None], dict[str, int]] = {}
    for tenant_id, user_id, n in (PurchaseLine.objects.filter(tenant__in=ids, transferred_at__gte=since)
                                  .values_list("tenant_id", "cleared_by").annotate(n=Count("id")).order_by()):
        per.setdefault((tenant_id, user_id), {"cleared": 0, "rejected": 0})["cleared"] += n
    for tenant_id, user_id, n in (PurchaseLine.objects.filter(tenant__in=ids, rejected_at__gte=since)
                                  .values_list("tenant_id", "rejected_by").annotate(n=Count("id")).order_by()):
        per.setdefault((tenant_id, user_id), {"cleared": 0, "rejected": 0})["rejected"] += n
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={u for _t, u in per if u})}
    by_tenant = {t.pk: t for t in tenants}
    return sorted(({"tenant": by_tenant[t], "user": users.get(u), **counts} for (t, u), counts in per.items()),
                  key=lambda r: (r["tenant"].name, -(r["cleared"] + r["rejected"])))


def tenant_clerks(*, tenant: Tenant) -> list[Any]:
    """The users who may clear this tenant's lines (hold ``receiving.change``), by username."""
    from sam.models import Membership

    return [m.user for m in Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__username")
            if m.has_perm("receiving.change")]


def workspace_sku_groups(*, tenants: list[Tenant], limit: int = 20) -> list[dict[str, Any]]:
    """Per tenant and part number: waiting lines failing on an unknown or ambiguous part number, with
    the supplier and a line to map it from (one grouped query)."""
    if not tenants:
        return []
    by_id = {t.pk: t for t in tenants}
    rows = (PurchaseLine.objects.filter(tenant__in=list(by_id), status=LineStatus.WAITING)
            .filter(Q(reason_codes__contains=",sku.unknown,") | Q(reason_codes__contains=",sku.ambiguous,"))
            .values("tenant_id", "sku").annotate(n=Count("id"), line=Min("id"), supplier=Min("supplier"))
            .order_by("-n", "sku", "tenant_id")[:limit])
    return [{"tenant": by_id[r["tenant_id"]], "sku": r["sku"], "lines": r["n"], "line": r["line"],
             "supplier": r["supplier"] or ""} for r in rows]
