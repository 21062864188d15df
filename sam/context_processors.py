"""What every page's shell needs: the current tenant, the user's other tenants, the navigation."""
from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from sam.models import Membership

# (label, url name, permission). Apps register their entries by appearing here; a missing URL is skipped.
NAVIGATION = [
    ("Dashboard", "dashboard", "dashboard.view"),
    ("Catalog", "catalog:products", "catalog.view"),
    ("Receiving", "receiving:queue", "receiving.view"),
    ("Entitlements", "entitlements:list", "entitlements.view"),
    ("Inventory", "inventory:devices", "inventory.view"),
    ("Requirements", "requirements:list", "requirements.view"),
    ("Balance", "requirements:balance", "balance.view"),
    ("Imports", "imports", "imports.run"),
    ("Audit log", "audit", "audit.view"),
    ("Members", "members", "members.manage"),
    ("Settings", "settings", "settings.manage"),
]


def shell(request: HttpRequest) -> dict:
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    nav = []
    if tenant is not None and membership is not None:
        for label, name, perm in NAVIGATION:
            if not membership.has_perm(perm):
                continue
            try:
                url = reverse(name, kwargs={"tenant": tenant.slug})
            except NoReverseMatch:
                continue
            nav.append({"label": label, "url": url, "active": False})
        # The entry whose URL is the longest prefix of the page is the current one (Balance lives
        # under Requirements' prefix; only one entry may be marked).
        matches = [item for item in nav if request.path == item["url"]
                   or (request.path.startswith(item["url"]) and item["url"].count("/") > 3)]
        if matches:
            max(matches, key=lambda item: len(item["url"]))["active"] = True
    memberships = []
    if request.user.is_authenticated:
        memberships = list(Membership.objects.filter(user=request.user).select_related("tenant"))
    return {"tenant": tenant, "membership": membership, "nav": nav, "my_memberships": memberships}
