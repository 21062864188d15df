"""Stage 1 of the recompute: the estate and the foundations (the scenarios behind each requirement).

Licensing rules implemented here (see docs/engine.md, "Foundations"):

* A foundation is one relevant scenario that makes a *technical* consumer need a product:
  local installation (fingerprint assignment), group membership (group assignment), remote
  usage (executable assignment), service booking (service assignment, approved bookings only) and
  collateral requirements (dependency rule: a requirement for the source product on the same
  consumer). One requirement per consumer × product, however many foundations it has.
* Irrelevant consumer (asset status not relevant, server powered off, person inactive) or
  configuration gone (fingerprint no longer assigned, assignment or rule deleted): the foundation
  is removed at once — the minimum entitlement period does not apply.
* Condition gone (installation removed, membership ended, usage gone, booking no longer approved,
  source requirement gone): the foundation stays until the product's minimum entitlement period
  has elapsed since it last held (``as_of - last_true > min_entitlement_days`` → removed).

Everything is read with a fixed number of bulk queries (``values_list``) and computed in dicts and
sets keyed by ids, so the cost grows with the rows, never with a query per consumer.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from catalog.models import AssignmentKind, Classification, Product
from inventory.models import (
    BookingStatus,
    Device,
    DeviceKind,
    DeviceRole,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    Person,
    PersonStatus,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from inventory.selectors import relevant_statuses
from requirements_engine.catalog_inputs import ProductLink, ProductRule
from requirements_engine.models import Foundation, FoundationKind
from sam.models import Tenant

#: Foundations that come from evidence (their condition can end, the period then applies).
TECHNICAL_KINDS = (FoundationKind.INSTALLATION, FoundationKind.GROUP, FoundationKind.REMOTE,
                   FoundationKind.BOOKING, FoundationKind.COLLATERAL)
#: Foundations the license assignment derives from another requirement (VM → host, person ⇄ device).
DERIVED_KINDS = (FoundationKind.CONSOLIDATION, FoundationKind.ASSIGNMENT)

IN_CHUNK = 900  # below SQLite's parameter limit


def in_chunk_size() -> int:
    """Ids per ``IN (...)`` list: PostgreSQL takes up to 65,535 parameters, SQLite 999 in old builds.

    Fewer, larger lists matter on PostgreSQL: each chunk of a join re-scans the joined table.
    """
    from django.db import connection

    return 30_000 if connection.vendor == "postgresql" else IN_CHUNK

Key = tuple[str, int]             # (consumer_key, product_id)
FKey = tuple[str, str]            # (foundation kind, source_key)


def chunks(items: Iterable[Any], size: int | None = None) -> Iterator[list[Any]]:
    size = size or in_chunk_size()
    items = sorted(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- the scope of a run -------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineScope:
    """What a run looks at: everything (full run), a set of consumers, or a set of products.

    A consumer scope is closed over the links the license assignment follows (VM ⇄ host,
    device ⇄ principal user), so every requirement whose result can change is recomputed whole.
    """

    device_ids: frozenset[int] | None = None
    person_ids: frozenset[int] | None = None
    product_ids: frozenset[int] | None = None

    @property
    def full(self) -> bool:
        return self.device_ids is None and self.person_ids is None and self.product_ids is None

    @property
    def by_consumer(self) -> bool:
        return self.device_ids is not None or self.person_ids is not None

    def consumer_keys(self) -> list[str]:
        return ([f"d:{i}" for i in sorted(self.device_ids or ())] + [f"p:{i}" for i in sorted(self.person_ids or ())])

    def label(self) -> str:
        if self.full:
            return "full"
        if self.by_consumer:
            return f"consumers ({len(self.device_ids or ())} devices, {len(self.person_ids or ())} persons)"
        return f"products ({len(self.product_ids or ())})"


def filter_in(qs: QuerySet, field_name: str, ids: Iterable[int] | None) -> Iterator[QuerySet]:
    """The queryset once (ids None) or once per chunk of ids (keeps IN lists small on SQLite)."""
    if ids is None:
        yield qs
        return
    for chunk in chunks(ids):
        yield qs.filter(**{f"{field_name}__in": chunk})


# --- the estate ---------------------------------------------------------------------------------


@dataclass(slots=True)
class DeviceRow:
    id: int
    name: str
    kind: str
    role: str
    relevant: bool
    primary_user_id: int | None
    processors: int | None
    cores_per_processor: int | None
    threads: int | None
    vcpus: int | None
    processor_model: str
    ram_gb: Decimal | None

    @property
    def portable(self) -> bool:
        return self.role == DeviceRole.LAPTOP or self.kind == DeviceKind.MOBILE


@dataclass(slots=True)
class PersonRow:
    id: int
    username: str
    relevant: bool


@dataclass
class Estate:
    """The consumers a run needs, with relevance decided once (see ``device_relevant``)."""

    devices: dict[int, DeviceRow] = field(default_factory=dict)
    persons: dict[int, PersonRow] = field(default_factory=dict)
    #: vm id → [(host id, valid_from, valid_to)] sorted
    placements: dict[int, list[tuple[int, dt.date | None, dt.date | None]]] = field(default_factory=dict)
    #: person id → ids of the devices whose principal user they are, by device name
    devices_of_person: dict[int, list[int]] = field(default_factory=dict)

    def label(self, consumer_key: str) -> str:
        kind, _sep, raw = consumer_key.partition(":")
        if kind == "d":
            row = self.devices.get(int(raw))
            return row.name if row else consumer_key
        row = self.persons.get(int(raw))
        return row.username if row else consumer_key

    def relevant(self, consumer_key: str) -> bool:
        kind, _sep, raw = consumer_key.partition(":")
        row = (self.devices if kind == "d" else self.persons).get(int(raw))
        return bool(row and row.relevant)


def device_relevant(*, status: str, role: str, power: str, statuses: set[str]) -> bool:
    """Relevance of a device: its asset status is one of the tenant's relevant statuses and, for the
    server role, its power status is on (a powered-off server needs no license)."""
    if " ".join((status or "").lower().split()) not in statuses:
        return False
    return role != DeviceRole.SERVER or (power or "").strip().lower() == "on"


DEVICE_FIELDS = ("id", "name", "kind", "role", "status", "power", "primary_user_id", "processors",
                 "cores_per_processor", "threads", "vcpus", "processor_model", "ram_gb")


def estate_read(*, tenant: Tenant, scope: EngineScope) -> Estate:
    """Devices, persons and VM placements of the run's consumers (all of them for other scopes)."""
    statuses = set(relevant_statuses(tenant=tenant))
    estate = Estate()
    for qs in filter_in(Device.objects.all(), "id", scope.device_ids if scope.by_consumer else None):
        for (pk, name, kind, role, status, power, user_id, processors, per, threads, vcpus, model,
             ram) in qs.values_list(*DEVICE_FIELDS):
            estate.devices[pk] = DeviceRow(pk, name, kind, role,
                                           device_relevant(status=status, role=role, power=power, statuses=statuses),
                                           user_id, processors, per, threads, vcpus, model or "", ram)
    for qs in filter_in(Person.objects.all(), "id", scope.person_ids if scope.by_consumer else None):
        for pk, username, status in qs.values_list("id", "username", "status"):
            # A person is relevant for licensing while active.
            estate.persons[pk] = PersonRow(pk, username, status == PersonStatus.ACTIVE)
    for qs in filter_in(VmPlacement.objects.all(), "vm_id", scope.device_ids if scope.by_consumer else None):
        for vm_id, host_id, start, end in qs.values_list("vm_id", "host_id", "valid_from", "valid_to"):
            estate.placements.setdefault(vm_id, []).append((host_id, start, end))
    for rows in estate.placements.values():
        rows.sort(key=lambda r: (r[1] or dt.date.min, r[0]))
    for row in sorted(estate.devices.values(), key=lambda d: (d.name, d.id)):
        if row.primary_user_id is not None:
            estate.devices_of_person.setdefault(row.primary_user_id, []).append(row.id)
    return estate


def consumer_closure(*, device_ids: Iterable[int], person_ids: Iterable[int], limit: int) -> EngineScope | None:
    """Close a set of changed consumers over VM ⇄ host placements and device ⇄ principal user.

    The license assignment moves requirements along exactly these links (VM → hosts, person →
    their devices, computer → principal user, second copy among one user's devices), so the
    closure holds every requirement whose result can change. ``None`` when it grows beyond
    ``limit`` consumers: a full run is then cheaper than a delta.
    """
    devices, persons = set(device_ids), set(person_ids)
    frontier_d, frontier_p = set(devices), set(persons)
    for _round in range(12):
        new_d: set[int] = set()
        new_p: set[int] = set()
        for chunk in chunks(frontier_d):
            for vm, host in VmPlacement.objects.filter(Q(vm_id__in=chunk) | Q(host_id__in=chunk)).values_list(
                    "vm_id", "host_id"):
                new_d.update((vm, host))
            new_p.update(u for u in Device.objects.filter(id__in=chunk, primary_user__isnull=False)
                         .values_list("primary_user_id", flat=True))
        for chunk in chunks(frontier_p):
            new_d.update(Device.objects.filter(primary_user_id__in=chunk).values_list("id", flat=True))
        frontier_d, frontier_p = new_d - devices, new_p - persons
        devices |= frontier_d
        persons |= frontier_p
        if len(devices) + len(persons) > limit:
            return None
        if not frontier_d and not frontier_p:
            break
    return EngineScope(device_ids=frozenset(devices), person_ids=frozenset(persons))


# --- foundations --------------------------------------------------------------------------------


@dataclass(slots=True)
class Found:
    """One foundation of the desired state."""

    kind: str
    source_key: str
    source: str
    first_seen: dt.date
    last_true: dt.date
    holds: bool = True  # the condition holds today (False: kept within the minimum entitlement period)


@dataclass(slots=True)
class ExistingFoundation:
    id: int
    source: str
    first_seen: dt.date | None
    last_true: dt.date | None


@dataclass
class Links:
    """The configurations of the tenant, keyed for matching (keys compare case-insensitively)."""

    group: dict[str, list[int]]            # group name (lower) → products
    executable: dict[str, list[int]]       # executable (lower) → products
    service: dict[str, list[int]]          # service (lower) → products
    dependency: dict[int, list[int]]       # source product → products it brings

    @classmethod
    def build(cls, raw: dict[str, list[ProductLink]]) -> Links:
        def by_key(kind: str) -> dict[str, list[int]]:
            out: dict[str, list[int]] = {}
            for link in raw.get(kind, []):
                out.setdefault(link.key.strip().lower(), []).append(link.product_id)
            return {k: sorted(set(v)) for k, v in out.items()}

        dep: dict[int, list[int]] = {}
        for link in raw.get(AssignmentKind.DEPENDENCY, []):
            if link.source_product_id is not None:
                dep.setdefault(link.source_product_id, []).append(link.product_id)
        return cls(group=by_key(AssignmentKind.GROUP), executable=by_key(AssignmentKind.EXECUTABLE),
                   service=by_key(AssignmentKind.SERVICE), dependency={k: sorted(set(v)) for k, v in dep.items()})

    def dependency_closure(self, product_ids: Iterable[int]) -> set[int]:
        """Products connected to these through dependency rules (both directions)."""
        edges: dict[int, set[int]] = {}
        for src, targets in self.dependency.items():
            for t in targets:
                edges.setdefault(src, set()).add(t)
                edges.setdefault(t, set()).add(src)
        seen = set(product_ids)
        stack = list(seen)
        while stack:
            for nxt in edges.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen


@dataclass
class Observations:
    """Foundations whose condition holds today, before retention and collateral."""

    found: dict[Key, dict[FKey, str]] = field(default_factory=dict)   # → readable source
    booked: set[Key] = field(default_factory=set)                      # approved service bookings
    fingerprint_product: dict[int, int] = field(default_factory=dict)  # assigned fingerprints
    group_names: dict[int, str] = field(default_factory=dict)

    def add(self, key: Key, kind: str, source_key: str, source: str) -> None:
        self.found.setdefault(key, {})[(kind, source_key)] = source[:300]


def observe(*, estate: Estate, scope: EngineScope, links: Links) -> Observations:
    """Every scenario that holds today for a relevant consumer in the scope (bulk reads only)."""
    obs = Observations()
    products = scope.product_ids
    devices = scope.device_ids if scope.by_consumer else None
    persons = scope.person_ids if scope.by_consumer else None

    # Local installation: an installation whose fingerprint is assigned to a product.
    fp_qs = Fingerprint.objects.filter(classification=Classification.PRODUCT, product__isnull=False)
    fp_label: dict[int, str] = {}
    for pk, product_id, publisher, name, version in fp_qs.values_list("id", "product_id", "publisher", "name",
                                                                        "version"):
        obs.fingerprint_product[pk] = product_id
        fp_label[pk] = " ".join(p for p in (publisher, name, version) if p)
    inst = Installation.objects.filter(fingerprint__classification=Classification.PRODUCT,
                                       fingerprint__product__isnull=False)
    if products is not None:
        inst = inst.filter(fingerprint__product_id__in=sorted(products))
    for qs in filter_in(inst, "device_id", devices):
        for device_id, fp_id in qs.values_list("device_id", "fingerprint_id").iterator(chunk_size=20000):
            row = estate.devices.get(device_id)
            product_id = obs.fingerprint_product.get(fp_id)
            if row is None or not row.relevant or product_id is None:
                continue
            obs.add((f"d:{device_id}", product_id), FoundationKind.INSTALLATION, f"fp:{fp_id}", fp_label[fp_id])

    def wanted(product_id: int) -> bool:
        return products is None or product_id in products

    # Group membership: a relevant member (person or device) of a group assigned to a product.
    obs.group_names = dict(Group.objects.values_list("id", "name"))
    group_products = {gid: [p for p in links.group.get(name.strip().lower(), []) if wanted(p)]
                      for gid, name in obs.group_names.items()}
    group_ids = sorted(gid for gid, prods in group_products.items() if prods)
    if group_ids:
        memberships = GroupMembership.objects.filter(group_id__in=group_ids)
        parts: Iterable[QuerySet] = (
            [*filter_in(memberships, "person_id", persons or ()), *filter_in(memberships, "device_id", devices or ())]
            if scope.by_consumer else [memberships])
        for qs in parts:
            for group_id, person_id, device_id in qs.values_list("group_id", "person_id", "device_id"):
                key = f"p:{person_id}" if person_id else f"d:{device_id}"
                if not estate.relevant(key):
                    continue
                for product_id in group_products[group_id]:
                    obs.add((key, product_id), FoundationKind.GROUP, f"group:{group_id}",
                            f"group {obs.group_names[group_id]}")

    # Remote usage: a relevant person ran an assigned executable on a host.
    if links.executable:
        for qs in filter_in(RemoteUsage.objects.all(), "person_id", persons):
            for person_id, host_id, host_name, exe in qs.values_list("person_id", "host_id", "host__name",
                                                                       "executable"):
                key = f"p:{person_id}"
                targets = [p for p in links.executable.get(exe.strip().lower(), []) if wanted(p)]
                if not targets or not estate.relevant(key):
                    continue
                for product_id in targets:
                    obs.add((key, product_id), FoundationKind.REMOTE, f"exe:{exe.strip().lower()}@{host_id}",
                            f"{exe} on {host_name}")

    # Service booking: an approved booking of an assigned service (it also confirms).
    if links.service:
        for qs in filter_in(ServiceBooking.objects.filter(status=BookingStatus.APPROVED), "person_id", persons):
            for person_id, service in qs.values_list("person_id", "service"):
                key = f"p:{person_id}"
                targets = [p for p in links.service.get(service.strip().lower(), []) if wanted(p)]
                if not targets or not estate.relevant(key):
                    continue
                for product_id in targets:
                    obs.add((key, product_id), FoundationKind.BOOKING, f"service:{service.strip().lower()}",
                            f"service {service}")
                    obs.booked.add((key, product_id))
    return obs


def existing_foundations(*, scope: EngineScope) -> dict[Key, dict[FKey, ExistingFoundation]]:
    """The stored foundations of automatic requirements in the scope."""
    out: dict[Key, dict[FKey, ExistingFoundation]] = {}
    base = Foundation.objects.filter(requirement__manual=False)
    if scope.by_consumer:
        parts: Iterable[QuerySet] = filter_in(base, "requirement__consumer_key", scope.consumer_keys())
    elif scope.product_ids is not None:
        parts = filter_in(base, "requirement__product_id", scope.product_ids)
    else:
        parts = [base]
    fields = ("id", "requirement__consumer_key", "requirement__product_id", "kind", "source_key", "source",
              "first_seen", "last_true")
    for qs in parts:
        for pk, ck, pid, kind, sk, source, first, last in qs.values_list(*fields).iterator(chunk_size=20000):
            out.setdefault((ck, pid), {})[(kind, sk)] = ExistingFoundation(pk, source, first, last)
    return out


def _configured(kind: str, source_key: str, product_id: int, *, obs: Observations, links: Links) -> bool:
    """Is the configuration behind a foundation still assigned to the product?"""
    head, _sep, rest = source_key.partition(":")
    if kind == FoundationKind.INSTALLATION:
        return obs.fingerprint_product.get(int(rest)) == product_id
    if kind == FoundationKind.GROUP:
        name = obs.group_names.get(int(rest))
        return name is not None and product_id in links.group.get(name.strip().lower(), ())
    if kind == FoundationKind.REMOTE:
        exe = rest.rpartition("@")[0]
        return product_id in links.executable.get(exe, ())
    if kind == FoundationKind.BOOKING:
        return product_id in links.service.get(rest, ())
    if kind == FoundationKind.COLLATERAL:
        return product_id in links.dependency.get(int(rest), ())
    return False


def technical_foundations(*, estate: Estate, obs: Observations, existing: dict[Key, dict[FKey, ExistingFoundation]],
                          links: Links, rules: dict[int, ProductRule], product_labels: dict[int, str],
                          as_of: dt.date, scope: EngineScope) -> dict[Key, dict[FKey, Found]]:
    """Observed foundations plus those kept within the minimum entitlement period, then collateral.

    ``rules`` must hold every product of ``obs`` and ``existing`` (for the periods).
    """
    result: dict[Key, dict[FKey, Found]] = {}

    def period(product_id: int) -> int:
        rule = rules.get(product_id)
        return rule.min_entitlement_days if rule else 0

    def place(key: Key, fkey: FKey, source: str, holds: bool, old: ExistingFoundation | None) -> None:
        first = min(old.first_seen, as_of) if old and old.first_seen else as_of
        if holds:
            last = max(old.last_true, as_of) if old and old.last_true else as_of
        else:
            last = old.last_true if old and old.last_true else as_of
        result.setdefault(key, {})[fkey] = Found(fkey[0], fkey[1], source, first, last, holds)

    def retain(key: Key, fkey: FKey, old: ExistingFoundation) -> None:
        ck, product_id = key
        if not estate.relevant(ck):
            return  # irrelevant consumer: removed at once
        if not _configured(fkey[0], fkey[1], product_id, obs=obs, links=links):
            return  # configuration gone: removed at once
        last = old.last_true or as_of
        if (as_of - last).days > period(product_id):
            return  # condition gone and the minimum entitlement period has elapsed
        place(key, fkey, old.source, False, old)

    for key, found in obs.found.items():
        old_map = existing.get(key, {})
        for fkey, source in found.items():
            place(key, fkey, source, True, old_map.get(fkey))
    for key, old_map in existing.items():
        for fkey, old in old_map.items():
            if fkey[0] == FoundationKind.COLLATERAL or fkey[0] not in TECHNICAL_KINDS:
                continue
            if fkey not in obs.found.get(key, {}):
                retain(key, fkey, old)

    # Collateral: a requirement for the source product brings one for the product on the same
    # consumer; iterate so chains (A brings B brings C) settle. A product outside a product scope
    # is never created here (the scope is closed over dependency rules beforehand).
    if links.dependency:
        frontier = list(result)
        seen_collateral: set[tuple[Key, FKey]] = set()
        for _round in range(20):
            new: list[Key] = []
            for ck, source_pid in frontier:
                for product_id in links.dependency.get(source_pid, ()):
                    if scope.product_ids is not None and product_id not in scope.product_ids:
                        continue
                    key, fkey = (ck, product_id), (FoundationKind.COLLATERAL, f"dep:{source_pid}")
                    if (key, fkey) in seen_collateral:
                        continue
                    seen_collateral.add((key, fkey))
                    if key not in result:
                        new.append(key)
                    place(key, fkey, f"required by {product_labels.get(source_pid, source_pid)}", True,
                          existing.get(key, {}).get(fkey))
            if not new:
                break
            frontier = new
        for key, old_map in existing.items():
            for fkey, old in old_map.items():
                if fkey[0] == FoundationKind.COLLATERAL and fkey not in result.get(key, {}):
                    retain(key, fkey, old)
    return result


def product_labels(product_ids: Iterable[int]) -> dict[int, str]:
    """Readable names of products (for collateral sources)."""
    out: dict[int, str] = {}
    for chunk in chunks(set(product_ids)):
        for pk, publisher, title, version, edition in Product.objects.filter(id__in=chunk).values_list(
                "id", "publisher__name", "title", "version", "edition"):
            out[pk] = " ".join(p for p in (publisher, title, version, edition) if p)
    return out
