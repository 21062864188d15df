"""Thin Celery tasks of the license inventory: ids in, scope entered, the service does the work."""
from __future__ import annotations

import datetime as dt

from celery import shared_task
from django_scopes import scope

from sam.models import Tenant


@shared_task(name="entitlements.tasks.renewal_digest")
def renewal_digest(tenant_id: int | None = None, as_of: str | None = None) -> dict:
    """Send each tenant's renewal digest (subscriptions and maintenances ending within 90 days).

    Without ``tenant_id`` every tenant is handled. Schedule it daily with Celery beat, e.g.
    ``{"task": "entitlements.tasks.renewal_digest", "schedule": 24 * 3600}``.
    """
    from entitlements.digest import renewal_digest_send

    day = dt.date.fromisoformat(as_of) if as_of else None
    tenants = Tenant.objects.filter(pk=tenant_id) if tenant_id else Tenant.objects.all()
    sent = {}
    for tenant in tenants:
        with scope(tenant=tenant):
            sent[tenant.slug] = renewal_digest_send(tenant=tenant, as_of=day)
    return sent


@shared_task(name="entitlements.tasks.revalidate_all")
def revalidate_all() -> int:
    """Validate every tenant's entitlements again (expiry warnings move with the calendar)."""
    from entitlements.services import entitlements_revalidate

    changed = 0
    for tenant in Tenant.objects.all():
        with scope(tenant=tenant):
            changed += entitlements_revalidate(tenant=tenant)
    return changed
