from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from sam.commands import get_tenant, parse_as_of
from sam.importing import ImportFileError, import_file, load_kinds


class Command(BaseCommand):
    help = "Import a CSV/TSV/XLSX file of one KIND (see docs/file-formats.md)."

    def add_arguments(self, parser):
        parser.add_argument("kind")
        parser.add_argument("file")
        parser.add_argument("--tenant", default=None, help="tenant slug; omit only for master-catalog kinds")
        parser.add_argument("--profile", default=None, help="a saved import profile (procurement)")
        parser.add_argument("--as-of", default=None, help="ISO date on which dates are judged (default today)")

    def handle(self, *args, kind: str, file: str, tenant: str | None, profile: str | None, as_of: str | None,
               **options):
        kinds = load_kinds()
        if kind not in kinds:
            raise CommandError(f"Unknown kind {kind!r}. Known kinds: {', '.join(sorted(kinds))}.")
        day = parse_as_of(as_of)
        try:
            if tenant:
                tenant_obj = get_tenant(tenant)
                with scope(tenant=tenant_obj):
                    result = import_file(kind=kind, source=file, tenant=tenant_obj, as_of=day,
                                         actor="import_data", profile=profile)
            else:
                result = import_file(kind=kind, source=file, tenant=None, as_of=day, actor="import_data",
                                     profile=profile)
        except ImportFileError as exc:
            self.stderr.write(f"{kind}: {file}: {exc}")
            sys.exit(1)
        self.stdout.write(result.summary())
