from __future__ import annotations

from django.core.management.base import BaseCommand

from sam.formats_doc import kinds_markdown


class Command(BaseCommand):
    help = "Print the import kinds (columns, synonyms, required) as Markdown, from the live registry."

    def handle(self, *args, **options):
        self.stdout.write(kinds_markdown())
