"""Services of the shell: tenants and memberships."""
from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify
from django_scopes import scope

from sam.hooks import hook_run
from sam.models import Membership, Role, Tenant


def tenant_create(*, slug: str, name: str = "") -> tuple[Tenant, bool]:
    """Create a tenant (idempotent by slug) and run the ``tenant.created`` hooks on it.

    The hooks run on every call, so they are idempotent themselves: entitlements registers the one
    that creates the tenant's Default repository.
    """
    clean_slug = slugify(slug)
    if not clean_slug or clean_slug != slug:
        raise ValueError(f"{slug!r} is not a valid slug (lowercase letters, digits and hyphens).")
    with transaction.atomic():
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if not created and name and tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name"])
        with scope(tenant=tenant):
            hook_run("tenant.created", tenant=tenant)
    return tenant, created


def membership_grant(*, tenant: Tenant, user, role: str) -> Membership:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership
