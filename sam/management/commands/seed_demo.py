from __future__ import annotations

from django.core.management.base import BaseCommand

from sam.demo import seed_demo


class Command(BaseCommand):
    help = "Load a realistic demo estate and demo users (idempotent), and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo", help="slug of the demo tenant (default demo)")
        parser.add_argument("--devices", type=int, default=400, help="number of devices to generate")

    def handle(self, *args, tenant: str, devices: int, **options):
        report = seed_demo(slug=tenant, devices=devices, log=self.stdout.write)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in at /accounts/login/ with:"))
        for username, role, tenants in report["logins"]:
            self.stdout.write(f"  {username:<10} password: {report['password']}   ({role} of {tenants})")
