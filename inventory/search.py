"""What the global search box finds in inventory (registered in ``apps.py``)."""
from __future__ import annotations

from django.db.models import Q
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from inventory.models import Device, Person
from sam.models import Tenant
from sam.search import LIMIT, Hit, SearchKind
from sam.search import tenant_url as _url


def _devices(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    rows = Device.objects.filter(Q(name__icontains=q) | Q(processor_model__icontains=q)).order_by("name")
    return ([Hit(d.name, f"{d.get_role_display()} · {d.status}", _url("inventory:device", tenant, pk=d.pk))
             for d in rows[:LIMIT + 1]], _url("inventory:devices", tenant) + "?" + urlencode({"name": q}))


def _persons(tenant: Tenant, q: str) -> tuple[list[Hit], str]:
    rows = Person.objects.filter(Q(username__icontains=q) | Q(name__icontains=q) | Q(email__icontains=q))
    return ([Hit(p.username, " · ".join(x for x in (p.name, p.email) if x), _url("inventory:person", tenant, pk=p.pk))
             for p in rows.order_by("username")[:LIMIT + 1]],
            _url("inventory:persons", tenant) + "?" + urlencode({"username": q}))


def search_kinds() -> list[SearchKind]:
    return [
        SearchKind("devices", _("Devices"), "inventory.view", _devices),
        SearchKind("persons", _("Persons"), "inventory.view", _persons),
    ]
