"""A set-based generator of a large, realistic estate for the engine benchmark.

For N devices: 10% physical servers, 20% virtual machines on N/50 hosts with host history (a third
of the VMs moved once, some within the last 90 days), the rest workstations and laptops; 0.6·N
persons (5% inactive) as principal users; 20·N installations over 6,000 fingerprints (half of
them recognised as one of 3,000 products, half irrelevant); 500 groups with 3·N memberships, 100
of them assigned to products; 3,000 products with master catalog rows (terms, license models,
processor table); one published license per product. Everything is written with ``bulk_create``; nothing per row.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django_scopes import scope

BATCH = 5000

MODELS = [
    # name, assignment, metric, quantity, rounding
    ("Bench Per Device", "device", "device", "1", "consumer"),
    ("Bench Device Second Copy", "device_second_copy", "device", "1", "consumer"),
    ("Bench Named User", "named_user", "user", "1", "consumer"),
    ("Bench Core Min4", "ose", "core", "max(cores_per_processor, 4) * processors if not is_virtual else max(vcpus, 4)",
     "consumer"),
    ("Bench Windows Core", "device", "core", "max(max(cores_per_processor, 8) * processors, 16)", "consumer"),
    ("Bench Oracle Processor", "ose", "processor", "cores * core_factor if not is_virtual else vcpus * 0.5",
     "position"),
]


@dataclass
class GeneratedEstate:
    tenant: object
    devices: int
    persons: int
    installations: int
    memberships: int
    placements: int
    products: int
    fingerprint_ids: list[int]
    device_ids: list[int]
    licenses: int = 0


def master_catalog(*, products: int = 3000) -> list[int]:
    """Publishers, products, license models, product terms and processor rows of the master catalog."""
    from catalog.models import LicenseModel, ProcessorModel, Product, ProductTerms, Publisher

    Publisher.objects.bulk_create([Publisher(name=f"Bench Publisher {k:03d}") for k in range(100)],
                                  ignore_conflicts=True)
    pubs = dict(Publisher.objects.filter(name__startswith="Bench Publisher ").values_list("name", "id"))
    Product.objects.bulk_create(
        [Product(publisher_id=pubs[f"Bench Publisher {i % 100:03d}"], title=f"Bench Product {i:04d}", version="1",
                 edition="", version_sort="0000000001") for i in range(products)],
        batch_size=BATCH, ignore_conflicts=True)
    ids = list(Product.objects.filter(title__startswith="Bench Product ").order_by("title")
               .values_list("id", flat=True)[:products])
    for name, assignment, metric, quantity, rounding in MODELS:
        LicenseModel.objects.update_or_create(name=name, defaults={"assignment": assignment, "metric": metric,
                                                                   "quantity": quantity, "rounding": rounding})
    ProductTerms.objects.bulk_create(
        [ProductTerms(product_id=pid, default_license_model=MODELS[i % len(MODELS)][0],
                      min_entitlement_days=90 if i % 3 == 0 else 0,
                      confirmation="manual" if i % 10 == 0 else "automatic") for i, pid in enumerate(ids)],
        batch_size=BATCH, ignore_conflicts=True)
    ProcessorModel.objects.bulk_create([ProcessorModel(model="Bench Xeon*", core_factor=Decimal("0.5"),
                                                       pvu_per_core=70)], ignore_conflicts=True)
    return ids


def generate(*, tenant, devices: int, seed: int = 7) -> GeneratedEstate:
    """Write the estate of ``tenant`` (inside its scope); returns counts and ids for the delta."""
    from catalog.models import Classification, TenantProductAssignment
    from inventory.models import (
        Device,
        Fingerprint,
        Group,
        GroupMembership,
        Installation,
        Person,
        VmPlacement,
    )

    rnd = random.Random(seed)
    product_ids = master_catalog()
    n = devices
    with scope(tenant=tenant):
        persons = [Person(tenant=tenant, username=f"u{i:07d}", email=f"u{i:07d}@bench.test",
                          status="inactive" if i % 20 == 19 else "active") for i in range(int(n * 0.6))]
        Person.objects.bulk_create(persons, batch_size=BATCH)
        person_ids = list(Person.objects.order_by("id").values_list("id", flat=True))

        hosts = max(1, n // 50)
        servers = max(hosts, n // 10)
        vms = n // 5
        rows = []
        for i in range(n):
            if i < servers:
                kind, role, power = "physical", "server", "off" if i % 40 == 39 and i >= hosts else "on"
            elif i < servers + vms:
                kind, role, power = "virtual", "server", "on"
            else:
                kind, role, power = ("physical", "laptop" if i % 3 == 0 else "workstation", "")
            rows.append(Device(
                tenant=tenant, name=f"D{i:07d}", kind=kind, role=role, power=power,
                status="disposed" if i % 50 == 49 else "active",
                processors=rnd.choice([1, 2, 2, 4]) if kind != "virtual" else None,
                cores_per_processor=rnd.choice([4, 8, 12, 16]) if kind != "virtual" else None,
                vcpus=rnd.choice([2, 4, 8, 16]) if kind == "virtual" else None,
                processor_model="Bench Xeon Gold" if role == "server" else "Bench Core i7",
                ram_gb=Decimal(rnd.choice([8, 16, 32, 64])),
                primary_user_id=person_ids[rnd.randrange(len(person_ids))] if role != "server" else None,
            ))
        Device.objects.bulk_create(rows, batch_size=BATCH)
        device_ids = list(Device.objects.order_by("name").values_list("id", flat=True))
        host_ids = device_ids[:hosts]
        vm_ids = device_ids[servers:servers + vms]

        as_of = dt.date.today()
        placements = []
        for k, vm in enumerate(vm_ids):
            current = host_ids[k % len(host_ids)]
            if k % 3 == 0 and len(host_ids) > 1:
                moved = as_of - dt.timedelta(days=rnd.choice([10, 45, 120, 400]))
                previous = host_ids[(k + 1) % len(host_ids)]
                placements.append(VmPlacement(tenant=tenant, vm_id=vm, host_id=previous,
                                              valid_from=moved - dt.timedelta(days=365), valid_to=moved))
                placements.append(VmPlacement(tenant=tenant, vm_id=vm, host_id=current, valid_from=moved))
            else:
                placements.append(VmPlacement(tenant=tenant, vm_id=vm, host_id=current,
                                              valid_from=as_of - dt.timedelta(days=500)))
        VmPlacement.objects.bulk_create(placements, batch_size=BATCH)

        fps = [Fingerprint(tenant=tenant, publisher=f"Bench Vendor {i % 100}", name=f"Bench App {i:05d}",
                           version="1.0", classification=Classification.PRODUCT if i < 3000 else Classification.IRRELEVANT,
                           product_id=product_ids[i] if i < 3000 else None) for i in range(6000)]
        Fingerprint.objects.bulk_create(fps, batch_size=BATCH)
        fp_ids = list(Fingerprint.objects.order_by("name").values_list("id", flat=True))

        # 20 distinct applications per device; popular applications are installed more often.
        weights = [1.0 / (1 + (i % 3000) / 30) for i in range(len(fp_ids))]
        total = 0
        batch: list[Installation] = []
        seen = as_of - dt.timedelta(days=3)
        for device_id in device_ids:
            chosen: set[int] = set()
            while len(chosen) < 20:
                chosen.update(rnd.choices(range(len(fp_ids)), weights=weights, k=20 - len(chosen)))
            for idx in chosen:
                batch.append(Installation(tenant=tenant, device_id=device_id, fingerprint_id=fp_ids[idx],
                                          last_seen=seen))
            if len(batch) >= BATCH * 4:
                Installation.objects.bulk_create(batch, batch_size=BATCH)
                total += len(batch)
                batch = []
        Installation.objects.bulk_create(batch, batch_size=BATCH)
        total += len(batch)

        Group.objects.bulk_create([Group(tenant=tenant, name=f"GRP-{g:03d}") for g in range(500)])
        group_ids = list(Group.objects.order_by("name").values_list("id", flat=True))
        TenantProductAssignment.objects.bulk_create(
            [TenantProductAssignment(tenant=tenant, kind="group", key=f"GRP-{g:03d}",
                                     product_id=product_ids[(g * 7) % len(product_ids)]) for g in range(100)])
        members: set[tuple[int, int]] = set()
        while len(members) < 3 * n:
            members.add((group_ids[rnd.randrange(500)], person_ids[rnd.randrange(len(person_ids))]))
        GroupMembership.objects.bulk_create(
            [GroupMembership(tenant=tenant, group_id=g, person_id=p) for g, p in sorted(members)], batch_size=BATCH)
    licenses = entitlements(tenant=tenant, product_ids=product_ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return GeneratedEstate(tenant=tenant, devices=n, persons=len(person_ids), installations=total,
                           memberships=len(members), placements=len(placements), products=len(product_ids),
                           fingerprint_ids=fp_ids, device_ids=device_ids, licenses=licenses)


def delta(*, tenant, changes: int = 1000, seed: int = 11) -> list[int]:
    """Change ``changes`` installations (half removed, half added); returns the changed device ids."""
    from catalog.models import Classification
    from inventory.models import Device, Fingerprint, Installation

    rnd = random.Random(seed)
    with scope(tenant=tenant):
        device_ids = list(Device.objects.order_by("id").values_list("id", flat=True))
        product_fps = list(Fingerprint.objects.filter(classification=Classification.PRODUCT).order_by("id")
                           .values_list("id", flat=True))
        removed = _sample_installations(changes // 2, rnd)
        Installation.objects.filter(id__in=[r[0] for r in removed]).delete()
        added: list[Installation] = []
        existing: set[tuple[int, int]] = set()
        targets = [rnd.choice(device_ids) for _ in range(changes - len(removed))]
        existing.update(Installation.objects.filter(device_id__in=targets).values_list("device_id", "fingerprint_id"))
        for device_id in targets:
            while True:
                fp = product_fps[rnd.randrange(len(product_fps))]
                if (device_id, fp) not in existing:
                    existing.add((device_id, fp))
                    added.append(Installation(tenant=tenant, device_id=device_id, fingerprint_id=fp,
                                              last_seen=dt.date.today()))
                    break
        Installation.objects.bulk_create(added)
    return sorted({r[1] for r in removed} | {a.device_id for a in added})


def _sample_installations(k: int, rnd: random.Random) -> list[tuple[int, int]]:
    from inventory.models import Installation

    ids = list(Installation.objects.values_list("id", "device_id"))
    return rnd.sample(ids, k)


def entitlements(*, tenant, product_ids: list[int], seed: int = 13) -> int:
    """One published, counted license per product (units ~ a third of a typical demand), set-based."""
    from entitlements.models import Entitlement
    from entitlements.services import repository_default

    rnd = random.Random(seed)
    with scope(tenant=tenant):
        repo = repository_default(tenant=tenant)
        rows = [Entitlement(tenant=tenant, repository=repo, product_id=pid, type="license", status="published",
                            state="published", quantity=Decimal(rnd.choice([5, 10, 50, 100, 500])),
                            units=Decimal(1), unit_cost=Decimal(rnd.choice([10, 20, 100])), errors=[], warnings=[])
                for pid in product_ids]
        Entitlement.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
