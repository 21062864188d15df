"""What the global search box finds in catalog (registered in ``apps.py``)."""
from __future__ import annotations

from django.db.models import Q
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from catalog.selectors import products_visible, skus_search
from sam.models import Tenant
from sam.search import LIMIT, Hit, SearchKind
from sam.search import tenant_url as _url


def _products(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    rows = (products_visible(tenant=tenant).select_related("publisher")
            .filter(Q(title__icontains=q) | Q(publisher__name__icontains=q) | Q(edition__icontains=q))
            .order_by("publisher__name", "title", "version_sort", "edition"))
    return ([Hit(str(p), "", _url("catalog:product", tenant, pk=p.pk)) for p in rows[:LIMIT + 1]],
            _url("catalog:products", tenant))


def _skus(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    found = skus_search(tenant=tenant, q=q, limit=LIMIT + 1)
    base = _url("catalog:skus", tenant)
    return ([Hit(s.part_number, s.description, f"{base}?{urlencode({'q': s.part_number})}") for s in found],
            f"{base}?{urlencode({'q': q})}")


def search_kinds() -> list[SearchKind]:
    return [
        SearchKind("products", _("Products"), "catalog.view", _products),
        SearchKind("skus", _("SKUs"), "catalog.view", _skus),
    ]
