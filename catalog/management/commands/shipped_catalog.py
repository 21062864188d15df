"""Print the figures of the shipped master catalog (catalog/data/master) as JSON."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from catalog.demo import shipped_catalog_figures


class Command(BaseCommand):
    help = "Print the figures of the shipped master catalog (products, SKUs, rules, models, processors) as JSON."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(shipped_catalog_figures(), indent=2))
