"""Reads of the estate for the requirements engine and the pages. Call inside the tenant's scope."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Lower

from catalog.models import Classification, Product
from catalog.selectors import processor_lookup
from inventory.models import (
    Device,
    DeviceKind,
    DeviceRole,
    Fingerprint,
    Group,
    GroupMembership,
    InventorySnapshot,
    Person,
    PersonStatus,
    VmPlacement,
)
from sam.importing import iter_chunks
from sam.models import DEFAULT_RELEVANT_STATUSES, Tenant


def relevant_statuses(*, tenant: Tenant) -> list[str]:
    """The tenant's relevant asset statuses, lower-cased with single spaces (default: active, in use)."""
    statuses = tenant.relevant_device_statuses or DEFAULT_RELEVANT_STATUSES
    return sorted({" ".join(str(s).lower().split()) for s in statuses if str(s).strip()})


def device_status_counts(*, tenant: Tenant) -> list[tuple[str, int]]:
    """The asset statuses on the tenant's devices with how many devices carry each (one query).

    Spellings that differ only in case or spacing count together, under the most common spelling.
    """
    rows = (Device.objects.filter(tenant=tenant).exclude(status="").values("status")
            .annotate(n=Count("pk")).order_by("-n", "status"))
    merged: dict[str, list] = {}
    for row in rows:
        key = " ".join(row["status"].lower().split())
        if key in merged:
            merged[key][1] += row["n"]
        else:
            merged[key] = [row["status"], row["n"]]
    return [(label, n) for label, n in merged.values()]


def _relevant_q(*, tenant: Tenant) -> Q:
    """The condition that makes a device relevant, on a queryset annotated with ``_status_folded``.

    A device counts when its asset status is one of the tenant's relevant statuses (compared
    case-insensitively) and, for a server, its power is ``on``: a powered-off server runs nothing
    that needs a license. A server without a power value does not count, as the contract says.
    """
    return Q(_status_folded__in=relevant_statuses(tenant=tenant)) & (~Q(role=DeviceRole.SERVER) | Q(power="on"))


def relevant_devices(*, tenant: Tenant) -> QuerySet[Device]:
    """The tenant's relevant devices (see ``_relevant_q``)."""
    return (Device.objects.filter(tenant=tenant).annotate(_status_folded=Lower("status"))
            .filter(_relevant_q(tenant=tenant)))


def relevant_device_ids(*, tenant: Tenant) -> QuerySet:
    """Ids of the relevant devices, as a lazy ``values_list``.

    Use it as a subquery (``filter(device_id__in=relevant_device_ids(tenant=t))``) or ``set(...)`` it.
    """
    return relevant_devices(tenant=tenant).values_list("pk", flat=True)


def relevant_person_ids(*, tenant: Tenant) -> QuerySet:
    """Ids of the active persons (a person is relevant when active), as a lazy ``values_list``."""
    return Person.objects.filter(tenant=tenant, status=PersonStatus.ACTIVE).values_list("pk", flat=True)


FACT_FIELDS = ("pk", "kind", "role", "processors", "cores_per_processor", "threads", "vcpus", "ram_gb",
               "processor_model")


def device_facts(*, tenant: Tenant, device_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """Hardware facts per device id, named as in quantity expressions.

    Keys: ``processors``, ``cores`` (processors × cores_per_processor, the physical cores in total),
    ``cores_per_processor``, ``threads``, ``vcpus``, ``ram_gb``, ``is_virtual``, ``is_server``,
    ``processor_model``, ``core_factor`` (Oracle) and ``pvu_per_core`` (IBM) from the catalog's
    processor table. Unknown values are ``None`` so an expression that needs them fails for that
    consumer instead of guessing. Numbers are ``int`` or ``Decimal``, never ``float``.
    One query for the devices (per chunk of ids) and one for the processor table.
    """
    lookup = _processor_lookup(tenant=tenant)
    qs = Device.objects.filter(tenant=tenant)
    if device_ids is None:
        chunks: Iterable[list[Any]] = [list(qs.values(*FACT_FIELDS))]
    else:
        chunks = (list(qs.filter(pk__in=chunk).values(*FACT_FIELDS)) for chunk in iter_chunks(sorted(set(device_ids)), 900))
    facts: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for row in chunk:
            processors, per = row["processors"], row["cores_per_processor"]
            core_factor, pvu = lookup(row["processor_model"], processors) if lookup and row["processor_model"] else (None, None)
            facts[row["pk"]] = {
                "processors": processors,
                "cores": processors * per if processors is not None and per is not None else None,
                "cores_per_processor": per,
                "threads": row["threads"],
                "vcpus": row["vcpus"],
                "ram_gb": row["ram_gb"],
                "is_virtual": row["kind"] == DeviceKind.VIRTUAL,
                "is_server": row["role"] == DeviceRole.SERVER,
                "processor_model": row["processor_model"],
                "core_factor": Decimal(str(core_factor)) if core_factor is not None else None,
                "pvu_per_core": pvu,
            }
    return facts


def _processor_lookup(*, tenant: Tenant):
    return processor_lookup(tenant=tenant)


def vm_host_map(*, tenant: Tenant, as_of: dt.date) -> dict[int, int]:
    """VM id → the host it ran on at ``as_of`` (periods include both ends; the later start wins a tie)."""
    placements = (
        VmPlacement.objects.filter(tenant=tenant)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=as_of))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=as_of))
        .order_by(F("valid_from").asc(nulls_first=True), "pk")
        .values_list("vm_id", "host_id")
    )
    return {vm_id: host_id for vm_id, host_id in placements}


def group_member_counts(*, tenant: Tenant) -> QuerySet:
    """Groups with their number of person and device members (the groups list)."""
    return Group.objects.filter(tenant=tenant).annotate(
        persons=Count("memberships", filter=Q(memberships__person__isnull=False)),
        devices=Count("memberships", filter=Q(memberships__device__isnull=False)),
    )


def device_groups(*, tenant: Tenant, device: Device) -> QuerySet:
    return GroupMembership.objects.filter(tenant=tenant, device=device).select_related("group").order_by("group__name")


def person_groups(*, tenant: Tenant, person: Person) -> QuerySet:
    return GroupMembership.objects.filter(tenant=tenant, person=person).select_related("group").order_by("group__name")


def snapshots_by_kind(*, tenant: Tenant) -> dict[str, InventorySnapshot]:
    """The last import of each inventory kind, for "what changed" on the lists."""
    return {s.kind: s for s in InventorySnapshot.objects.filter(tenant=tenant)}


def fingerprints_unknown(*, tenant: Tenant) -> QuerySet:
    """The tenant's unrecognised fingerprints, most installed first (the classification queue)."""
    return (Fingerprint.objects.filter(tenant=tenant, classification=Classification.UNKNOWN)
            .annotate(installation_count=Count("installations"))
            .order_by("-installation_count", "publisher", "name", "version"))


def product_fingerprints(*, tenant: Tenant, product: Product, limit: int = 200) -> list[Fingerprint]:
    """Installed software recognised as ``product``, most installed first (the ``product.fingerprints`` hook)."""
    return list(Fingerprint.objects.filter(tenant=tenant, product=product)
                .annotate(installation_count=Count("installations"))
                .order_by("-installation_count", "name")[:limit])
