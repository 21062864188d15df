"""The demo estate behind ``make run``: users for every role, two tenants, and each app's demo data.

Apps extend the demo by adding a ``demo.py`` with ``seed(tenant, devices, log)``; it is called here
in dependency order, inside the tenant's scope.
"""
from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from django.contrib.auth import get_user_model
from django.db import transaction
from django_scopes import scope

from sam.models import Role
from sam.services import membership_grant, tenant_create

DEMO_PASSWORD = "demo-password-2026"
APP_ORDER = ("catalog", "inventory", "entitlements", "receiving", "requirements_engine")


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
    for app in APP_ORDER:
        try:
            module = import_module(f"{app}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.demo":
                raise
            continue
        if hasattr(module, "seed_master"):
            module.seed_master(log=log)
        for t, n in ((tenant, devices), (second, max(20, devices // 10))):
            with scope(tenant=t):
                module.seed(tenant=t, devices=n, log=log)
    from requirements_engine.services import recompute_request

    for t in (tenant, second):
        with scope(tenant=t):
            recompute_request(tenant=t, reason="demo data loaded")
    return {"logins": logins, "password": DEMO_PASSWORD, "tenant": tenant.slug}
