"""What the global search box finds in receiving (registered in ``apps.py``)."""
from __future__ import annotations

from django.db.models import Q
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from receiving.models import PurchaseLine
from sam.models import Tenant
from sam.search import LIMIT, Hit, SearchKind
from sam.search import tenant_url as _url


def _purchase_lines(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    cond = (Q(sku__icontains=q) | Q(po_number__icontains=q) | Q(invoice_number__icontains=q)
            | Q(description__icontains=q) | Q(supplier__icontains=q))
    rows = PurchaseLine.objects.filter(cond).order_by("-pk")
    queue = _url("receiving:queue", tenant)
    return ([Hit(" · ".join(x for x in (line.po_number, line.sku) if x) or f"#{line.pk}",
                 " · ".join(x for x in (line.description, line.get_status_display()) if x),
                 f"{queue}?{urlencode({'status': line.status, 'sku': line.sku})}")
             for line in rows[:LIMIT + 1]], f"{queue}?{urlencode({'sku': q})}")


def search_kinds() -> list[SearchKind]:
    return [
        SearchKind("purchase_lines", _("Purchase lines"), "receiving.view", _purchase_lines),
    ]
