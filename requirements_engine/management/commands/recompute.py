from __future__ import annotations

from requirements_engine.services import recompute_now
from sam.commands import TenantCommand, parse_as_of


class Command(TenantCommand):
    help = ("Recompute a tenant's requirements, allocation and balance now (synchronous, full; applies every "
            "pending change event with it).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--as-of", default=None)

    def handle_tenant(self, tenant, *, as_of: str | None, **options):
        summary = recompute_now(tenant=tenant, as_of=parse_as_of(as_of), actor="recompute")
        self.stdout.write(f"recompute {tenant.slug}: {summary}")
