from __future__ import annotations

from django.core.management.base import BaseCommand

from sam.services import tenant_create


class Command(BaseCommand):
    help = "Create a tenant (idempotent: an existing slug is left as it is, its name updated if given)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug: str, name: str, **options):
        tenant, created = tenant_create(slug=slug, name=name)
        self.stdout.write(f"{'Created' if created else 'Exists'}: tenant {tenant.slug} ({tenant.name})")
