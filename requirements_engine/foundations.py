"""The scope of a recompute and the configuration it matches against (group, executable, service,
dependency rules). The foundations themselves are computed on columns in ``columnar``.

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

Everything is read with a fixed number of bulk queries and computed on columns keyed by ids, so the
cost grows with the rows, never with a query per consumer.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from catalog.models import AssignmentKind, Product
from inventory.models import (
    Device,
    Person,
    VmPlacement,
)
from requirements_engine.catalog_inputs import ProductLink
from requirements_engine.models import FoundationKind

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


# --- the consumer closure of a delta ----------------------------------------------------------


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


def consumer_partitions(*, size: int) -> list[EngineScope] | None:
    """The tenant's consumers in partitions of about ``size``, each closed like a delta's closure.

    Connected components of the graph the license assignment follows (VM ⇄ host placements,
    device ⇄ principal user) never straddle two partitions, so each partition can be recomputed
    alone and the union of the partitions' results is the full run's. ``None`` when everything
    fits in one partition (the caller then runs one full scope).
    """
    import polars as pl

    from requirements_engine import frames

    dev = frames.read(Device.objects.all(), {"id": frames.INT, "user": frames.INT}, ["id", "primary_user_id"])
    per = frames.read(Person.objects.all(), {"id": frames.INT}, ["id"])
    if dev.height + per.height <= size:
        return None
    placements = frames.read(VmPlacement.objects.all(), {"vm": frames.INT, "host": frames.INT}, ["vm_id", "host_id"])
    # Node ids: devices as themselves, persons offset past every device id.
    offset = int(dev["id"].max() or 0) + 1
    edges = pl.concat([
        dev.filter(pl.col("user").is_not_null()).select(pl.col("id").alias("a"), (pl.col("user") + offset).alias("b")),
        placements.select(pl.col("vm").alias("a"), pl.col("host").alias("b")),
    ])
    nodes = pl.concat([dev.select("id"), per.select(pl.col("id") + offset)])["id"]
    # Connected components: union-find over the edges (one pass per edge, ints only).
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges.iter_rows():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    labels = pl.DataFrame({"node": nodes, "label": [find(n) for n in nodes.to_list()]})
    sizes = labels.group_by("label").agg(pl.col("node").sort()).sort("label")
    parts: list[EngineScope] = []
    devices: list[int] = []
    persons: list[int] = []
    for _label, members in sizes.iter_rows():
        if devices and len(devices) + len(persons) + len(members) > size:
            parts.append(EngineScope(device_ids=frozenset(devices), person_ids=frozenset(persons)))
            devices, persons = [], []
        for node in members:
            (devices if node < offset else persons).append(node if node < offset else node - offset)
    if devices or persons:
        parts.append(EngineScope(device_ids=frozenset(devices), person_ids=frozenset(persons)))
    return parts


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


def product_labels(product_ids: Iterable[int]) -> dict[int, str]:
    """Readable names of products (for collateral sources)."""
    out: dict[int, str] = {}
    for chunk in chunks(set(product_ids)):
        for pk, publisher, title, version, edition in Product.objects.filter(id__in=chunk).values_list(
                "id", "publisher__name", "title", "version", "edition"):
            out[pk] = " ".join(p for p in (publisher, title, version, edition) if p)
    return out
