"""What entitlements plugs into the core (registered in ``entitlements.apps``)."""
from __future__ import annotations

from entitlements.services import repository_default
from sam.models import Tenant


def tenant_default_repository(*, tenant: Tenant) -> None:
    """The ``tenant.created`` hook: every tenant has its Default repository (idempotent)."""
    repository_default(tenant=tenant)
