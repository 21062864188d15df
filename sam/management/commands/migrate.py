"""``migrate`` with row-level security's "all tenants" setting: migrations are a named, reviewed
unscoped path (a data migration must see every tenant's rows; see sam/rls.py)."""
from __future__ import annotations

from django.core.management.commands.migrate import Command as MigrateCommand
from django_scopes import scopes_disabled


class Command(MigrateCommand):
    def handle(self, *args, **options):
        with scopes_disabled():
            return super().handle(*args, **options)
