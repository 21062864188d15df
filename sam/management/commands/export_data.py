from __future__ import annotations

import sys

from django.core.management.base import CommandError

from sam.commands import TenantCommand, parse_as_of
from sam.exporting import export, load_exports
from sam.exports import FORMATS, iter_delimited, xlsx_bytes


class Command(TenantCommand):
    help = "Export balance, entitlements, requirements, receiving or catalog as TSV (default), CSV or XLSX."

    def add_arguments(self, parser):
        parser.add_argument("what")
        super().add_arguments(parser)
        parser.add_argument("--format", default="tsv", choices=sorted(FORMATS))
        parser.add_argument("--output", default="-", help="file to write; - for standard output")
        parser.add_argument("--as-of", default=None)

    def handle_tenant(self, tenant, *, what: str, format: str, output: str, as_of: str | None, **options):
        if what not in load_exports():
            raise CommandError(f"Unknown export {what!r}. Known: {', '.join(sorted(load_exports()))}.")
        data = export(what=what, tenant=tenant, as_of=parse_as_of(as_of))
        if format == "xlsx":
            payload = xlsx_bytes(data.header, data.rows, title=data.title)
            if output == "-":
                sys.stdout.buffer.write(payload)
            else:
                with open(output, "wb") as fh:
                    fh.write(payload)
            return
        if output == "-":
            for chunk in iter_delimited(data.header, data.rows, format):
                self.stdout.write(chunk, ending="")
            return
        count = -1
        with open(output, "w", encoding="utf-8", newline="") as fh:
            for chunk in iter_delimited(data.header, data.rows, format):
                fh.write(chunk)
                count += 1
        self.stderr.write(f"{what}: {count} rows written to {output}")
