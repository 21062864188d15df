"""Base for management commands that act on one tenant (``--tenant SLUG``)."""
from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from sam.models import Tenant


def parse_as_of(value: str | None) -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be an ISO date such as 2026-03-31, not {value!r}") from exc


def get_tenant(slug: str) -> Tenant:
    try:
        return Tenant.objects.get(slug=slug)
    except Tenant.DoesNotExist as exc:
        raise CommandError(f"No tenant with slug {slug!r}. Create it with: manage.py create_tenant {slug}") from exc


class TenantCommand(BaseCommand):
    """Subclasses implement ``handle_tenant(tenant, **options)``; it runs inside the tenant's scope."""

    tenant_required = True

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=self.tenant_required, help="the tenant's slug")

    def handle(self, *args, **options):
        slug = options.pop("tenant", None)
        if not slug:
            return self.handle_tenant(None, **options)
        tenant = get_tenant(slug)
        with scope(tenant=tenant):
            return self.handle_tenant(tenant, **options)

    def handle_tenant(self, tenant: Tenant | None, **options):  # pragma: no cover - abstract
        raise NotImplementedError
