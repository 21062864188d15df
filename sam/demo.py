"""The demo estate behind ``make run``: users for every role, two tenants, and each app's demo data.

Apps extend the demo by registering hooks in their ``AppConfig.ready()``: ``demo.seed_master(log)``
for master data and ``demo.seed(tenant, devices, log)`` for a tenant's data, ordered by layer (catalog
first). The tenant's hooks run inside its scope. The engine then applies the demo as one full change.
"""
from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction
from django_scopes import scope

from sam.changes import change_record
from sam.hooks import hook_functions
from sam.models import ChangeKind, Role
from sam.services import membership_grant, tenant_create

DEMO_PASSWORD = "demo-password-2026"


def _user(username: str, *, staff: bool = False):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.example"})
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
    user.is_staff = user.is_staff or staff
    user.save()
    return user


def seed_demo(*, slug: str = "demo", devices: int = 400, log: Callable[[str], None] = print) -> dict:
    with transaction.atomic():
        tenant, _ = tenant_create(slug=slug, name="Demo Corporation" if slug == "demo" else slug)
        second, _ = tenant_create(slug=f"{slug}-subsidiary", name="Demo Subsidiary")
        cast = {
            "admin": (Role.ADMIN, True),
            "manager": (Role.LICENSE_MANAGER, False),
            "clearing": (Role.CLEARING, False),
            "auditor": (Role.AUDITOR, False),
        }
        logins = []
        for username, (role, staff) in cast.items():
            user = _user(username, staff=staff)
            membership_grant(tenant=tenant, user=user, role=role)
            tenants = [tenant.slug]
            if username in ("admin", "clearing"):
                membership_grant(tenant=second, user=user, role=role)
                tenants.append(second.slug)
            logins.append((username, role.label, ", ".join(tenants)))
    for seed_master in hook_functions("demo.seed_master"):
        seed_master(log=log)
    for seed in hook_functions("demo.seed"):
        for t, n in ((tenant, devices), (second, max(20, devices // 10))):
            with scope(tenant=t):
                seed(tenant=t, devices=n, log=log)
    for t in (tenant, second):
        with scope(tenant=t):
            change_record(tenant=t, kind=ChangeKind.FULL, reason="demo data loaded")
    return {"logins": logins, "password": DEMO_PASSWORD, "tenant": tenant.slug}
