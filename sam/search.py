"""The global search box: a few matches per kind, each kind only for roles that may read it.

Bounded: every kind asks one query limited to ``LIMIT + 1`` rows (the extra row says "more"),
inside the tenant scope, so the page costs the same on a 100-device and a 100,000-device tenant.
The kinds name their app's models by label and their page by URL name, as the navigation does,
so the core imports no app.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from sam.models import Tenant

LIMIT = 8
MIN_LENGTH = 2


@dataclass
class Hit:
    label: str
    detail: str
    url: str


@dataclass
class Group:
    key: str
    title: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False
    more_url: str = ""


def _url(name: str, tenant: Tenant, **kwargs) -> str:
    try:
        return reverse(name, kwargs={"tenant": tenant.slug, **kwargs})
    except NoReverseMatch:
        return ""


def _devices(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    Device = apps.get_model("inventory", "Device")
    rows = Device.objects.filter(Q(name__icontains=q) | Q(processor_model__icontains=q)).order_by("name")
    return ([Hit(d.name, f"{d.get_role_display()} · {d.status}", _url("inventory:device", tenant, pk=d.pk))
             for d in rows[:LIMIT + 1]], _url("inventory:devices", tenant) + "?" + urlencode({"name": q}))


def _persons(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    Person = apps.get_model("inventory", "Person")
    rows = Person.objects.filter(Q(username__icontains=q) | Q(name__icontains=q) | Q(email__icontains=q))
    return ([Hit(p.username, " · ".join(x for x in (p.name, p.email) if x), _url("inventory:person", tenant, pk=p.pk))
             for p in rows.order_by("username")[:LIMIT + 1]],
            _url("inventory:persons", tenant) + "?" + urlencode({"username": q}))


def _products(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    from catalog.selectors import products_visible  # the catalog is the base every app reads

    rows = (products_visible(tenant=tenant).select_related("publisher")
            .filter(Q(title__icontains=q) | Q(publisher__name__icontains=q) | Q(edition__icontains=q))
            .order_by("publisher__name", "title", "version_sort", "edition"))
    return ([Hit(str(p), "", _url("catalog:product", tenant, pk=p.pk)) for p in rows[:LIMIT + 1]],
            _url("catalog:products", tenant))


def _skus(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    from catalog.selectors import skus_search

    found = skus_search(tenant=tenant, q=q, limit=LIMIT + 1)
    base = _url("catalog:skus", tenant)
    return ([Hit(s.part_number, s.description, f"{base}?{urlencode({'q': s.part_number})}") for s in found],
            f"{base}?{urlencode({'q': q})}")


def _licenses(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    Entitlement = apps.get_model("entitlements", "Entitlement")
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
    Contract = apps.get_model("entitlements", "Contract")
    rows = Contract.objects.filter(Q(number__icontains=q) | Q(name__icontains=q)).order_by("number")
    return ([Hit(c.number, c.name, _url("entitlements:contract", tenant, pk=c.pk)) for c in rows[:LIMIT + 1]],
            _url("entitlements:contracts", tenant) + "?" + urlencode({"number": q}))


def _purchase_lines(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    PurchaseLine = apps.get_model("receiving", "PurchaseLine")
    cond = (Q(sku__icontains=q) | Q(po_number__icontains=q) | Q(invoice_number__icontains=q)
            | Q(description__icontains=q) | Q(supplier__icontains=q))
    rows = PurchaseLine.objects.filter(cond).order_by("-pk")
    queue = _url("receiving:queue", tenant)
    return ([Hit(" · ".join(x for x in (line.po_number, line.sku) if x) or f"#{line.pk}",
                 " · ".join(x for x in (line.description, line.get_status_display()) if x),
                 f"{queue}?{urlencode({'status': line.status, 'sku': line.sku})}")
             for line in rows[:LIMIT + 1]], f"{queue}?{urlencode({'sku': q})}")


# (key, title, permission, search function)
KINDS: list[tuple[str, str, str, Callable[[Tenant, str], tuple[list[Hit], str]]]] = [
    ("devices", _("Devices"), "inventory.view", _devices),
    ("persons", _("Persons"), "inventory.view", _persons),
    ("products", _("Products"), "catalog.view", _products),
    ("skus", _("SKUs"), "catalog.view", _skus),
    ("licenses", _("Licenses and maintenances"), "entitlements.view", _licenses),
    ("agreements", _("Agreements"), "entitlements.view", _agreements),
    ("purchase_lines", _("Purchase lines"), "receiving.view", _purchase_lines),
]


def global_search(*, tenant: Tenant, membership, q: str) -> list[Group]:
    """Matches of ``q`` per kind the member may read (at most ``LIMIT`` each). Call inside the scope."""
    q = " ".join((q or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return []
    groups = []
    for key, title, perm, func in KINDS:
        if not membership.has_perm(perm):
            continue
        hits, more_url = func(tenant, q)
        groups.append(Group(key=key, title=str(title), hits=hits[:LIMIT], more=len(hits) > LIMIT,
                            more_url=more_url))
    return groups
