"""Reads of the requirements engine app used elsewhere (the tenant dashboard)."""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from sam.models import Membership, Tenant


def dashboard_panels(*, tenant: Tenant, membership: Membership) -> dict:
    """Key figures of the latest balance day and the top shortfalls, for ``sam.dashboard``.

    Returns ``{"kpis": [{label, value, note}], "blocks": [{template, data}]}``; empty when the member
    may not see the balance. Two queries.
    """
    from requirements_engine.models import BalanceRow
    from requirements_engine.selectors_balance import balance_latest_day, top_shortfalls

    if not membership.has_perm("balance.view"):
        return {"kpis": [], "blocks": []}
    as_of = balance_latest_day(tenant=tenant)
    if as_of is None:
        return {"kpis": [{"label": _("License positions"), "value": 0, "note": _("no balance computed yet")}],
                "blocks": []}
    totals = BalanceRow.objects.filter(tenant=tenant, as_of=as_of, repository_id_ref__isnull=True).aggregate(
        positions=Count("id"), short=Count("id", filter=Q(shortfall__gt=0)), cost=Sum("shortfall_cost"),
        surplus=Sum("surplus"), unconfirmed=Sum("unconfirmed"), expiring=Sum("expiring"))
    plain = lambda v: (v or Decimal(0)).normalize() if v is not None else 0  # noqa: E731
    kpis = [
        {"label": _("License positions"), "value": totals["positions"], "note": _("as of %s") % as_of.isoformat()},
        {"label": _("In shortfall"), "value": totals["short"], "note": _("positions")},
        {"label": _("Shortfall cost"), "value": f"{(totals['cost'] or Decimal(0)):.2f}", "note": _("at list price")},
        {"label": _("Surplus units"), "value": f"{plain(totals['surplus']):f}", "note": _("to harvest or not renew")},
        {"label": _("Unconfirmed demand"), "value": f"{plain(totals['unconfirmed']):f}", "note": _("units")},
        {"label": _("Expiring coverage"), "value": f"{plain(totals['expiring']):f}", "note": _("units within 90 days")},
    ]
    blocks = [{"template": "requirements_engine/balance/partials/dashboard_block.html",
               "data": {"as_of": as_of, "top": top_shortfalls(tenant=tenant, as_of=as_of, limit=5)}}]
    return {"kpis": kpis, "blocks": blocks}
