"""What the global search box finds in entitlements (registered in ``apps.py``)."""
from __future__ import annotations

from django.db.models import Q
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from entitlements.models import Contract, Entitlement
from sam.models import Tenant
from sam.search import LIMIT, Hit, SearchKind
from sam.search import tenant_url as _url


def _licenses(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    cond = (Q(identifier__icontains=q) | Q(sku__icontains=q) | Q(title__icontains=q) | Q(vendor__icontains=q)
            | Q(po_number__icontains=q) | Q(invoice_number__icontains=q))
    rows = Entitlement.objects.filter(cond).order_by("-pk")
    hits = []
    for e in rows[:LIMIT + 1]:
        name = " ".join(x for x in (e.vendor, e.title, e.version, e.edition) if x) or e.sku or f"#{e.pk}"
        detail = " · ".join(x for x in (e.get_type_display(), e.identifier, e.sku, e.get_state_display()) if x)
        hits.append(Hit(name, detail, _url("entitlements:edit", tenant, pk=e.pk)))
    return hits, _url("entitlements:list", tenant) + "?" + urlencode({"title": q})


def _agreements(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    rows = Contract.objects.filter(Q(number__icontains=q) | Q(name__icontains=q)).order_by("number")
    return ([Hit(c.number, c.name, _url("entitlements:contract", tenant, pk=c.pk)) for c in rows[:LIMIT + 1]],
            _url("entitlements:contracts", tenant) + "?" + urlencode({"number": q}))


def search_kinds() -> list[SearchKind]:
    return [
        SearchKind("licenses", _("Licenses and maintenances"), "entitlements.view", _licenses),
        SearchKind("agreements", _("Agreements"), "entitlements.view", _agreements),
    ]
