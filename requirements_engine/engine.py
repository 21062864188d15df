"""The recompute pipeline: foundations → requirements → consolidation → confirmation → balance.

``recompute_tenant`` is the one entry point (the command, the worker and inline recomputes call it
through ``requirements_engine.services``). A run:

1. reads the estate and the catalog rules in bulk (a fixed number of queries);
2. derives the foundations (``foundations``) and the desired requirements (``requirements``) in
   memory, keyed by (consumer_key, product_id);
3. writes only the difference to what is stored, set-based: ``bulk_create(update_conflicts=True)``
   for new or changed rows, one chunked delete per set of stale rows;
4. calls the balance (``balance.balance_compute``).

Safe to kill: each write stage is its own transaction and the stages are ordered so that a run
interrupted between any two of them leaves a state from which the next run computes exactly the
same desired state (the only stored inputs it reads back — foundation dates and a person's
confirmation — are written with the values the rerun would compute). Idempotent: a second run
with the same inputs and ``as_of`` finds nothing to write.
"""
from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from requirements_engine import catalog_inputs
from requirements_engine.bulk import batch_size, upsert
from requirements_engine.foundations import (
    EngineScope,
    Estate,
    ExistingFoundation,
    FKey,
    Key,
    Links,
    chunks,
    consumer_closure,
    estate_read,
    existing_foundations,
    filter_in,
    observe,
    product_labels,
    technical_foundations,
)
from requirements_engine.models import ConsumerType, Foundation, Requirement
from requirements_engine.requirements import VALUE_FIELDS, Desired, ExistingRequirement, Planner
from sam.jobs import job_progress
from sam.models import Job, Tenant

#: A delta whose closure exceeds this many consumers runs as a full recompute instead.
DELTA_LIMIT = 20_000

StageHook = Callable[[str], None]


_batch_size = batch_size


def _scoped(qs: QuerySet, scope: EngineScope, *, consumer_field: str, product_field: str) -> Iterable[QuerySet]:
    if scope.by_consumer:
        return filter_in(qs, consumer_field, scope.consumer_keys())
    if scope.product_ids is not None:
        return filter_in(qs, product_field, scope.product_ids)
    return [qs]


REQ_READ = ("id", "consumer_key", "product_id", "manual", *(f for f in VALUE_FIELDS))


def existing_requirements(*, scope: EngineScope) -> dict[Key, ExistingRequirement]:
    out: dict[Key, ExistingRequirement] = {}
    for qs in _scoped(Requirement.objects.all(), scope, consumer_field="consumer_key", product_field="product_id"):
        for row in qs.values_list(*REQ_READ).iterator(chunk_size=20000):
            pk, ck, pid, manual, *values = row
            out[(ck, pid)] = ExistingRequirement(pk, manual, tuple(values), values[7], values[8], values[9])
    return out


def _same(a: tuple, b: tuple) -> bool:
    # Decimals compare by value (1 == 1.0000); dicts and dates by equality.
    return all(x == y for x, y in zip(a, b, strict=True))


class Writer:
    """Writes the difference between the desired and the stored state, one stage at a time."""

    def __init__(self, *, tenant: Tenant, scope: EngineScope, desired: dict[Key, Desired],
                 old_reqs: dict[Key, ExistingRequirement], old_founds: dict[Key, dict[FKey, ExistingFoundation]]):
        self.tenant = tenant
        self.scope = scope
        self.desired = desired
        self.old_reqs = old_reqs
        self.old_founds = old_founds
        self.stats: dict[str, int] = {"created": 0, "updated": 0, "deleted": 0, "foundations_written": 0,
                                      "foundations_deleted": 0, "links_written": 0, "links_deleted": 0}
        self.ids: dict[Key, int] = {}

    def requirements(self) -> None:
        """Upsert new and changed automatic requirements (never a manual one)."""
        rows = []
        for key in sorted(self.desired):
            e = self.desired[key]
            old = self.old_reqs.get(key)
            if old is not None and (old.manual or _same(old.values, e.values())):
                continue
            self.stats["updated" if old is not None else "created"] += 1
            is_device = e.consumer_key.startswith("d:")
            cid = int(e.consumer_key[2:])
            rows.append(dict(
                tenant_id=self.tenant.id, consumer_key=e.consumer_key, product_id=e.product_id, manual=False,
                consumer_type=ConsumerType.DEVICE if is_device else ConsumerType.PERSON,
                device_id=cid if is_device else None, person_id=None if is_device else cid,
                license_model=e.license_model, quantity=e.quantity, expression=e.expression,
                expression_values=e.expression_values, core_factor=e.core_factor, error=e.error,
                effective=e.effective, confirmation=e.confirmation, confirmed_by=e.confirmed_by,
                confirmed_at=e.confirmed_at, is_secondary=e.secondary, note=e.note,
            ))
        if rows:
            with transaction.atomic():
                upsert(Requirement, rows, unique_fields=["tenant", "consumer_key", "product"],
                       update_fields=[*VALUE_FIELDS, "updated_at"])
        self._read_ids()

    def _read_ids(self) -> None:
        self.ids = {}
        for qs in _scoped(Requirement.objects.filter(manual=False), self.scope, consumer_field="consumer_key",
                          product_field="product_id"):
            for ck, pid, pk in qs.values_list("consumer_key", "product_id", "id").iterator(chunk_size=20000):
                self.ids[(ck, pid)] = pk

    def foundations(self) -> None:
        """Upsert new and changed foundations; delete the ones no longer wanted."""
        rows = []
        for key in sorted(self.desired):
            e = self.desired[key]
            req_id = self.ids.get(key)
            if req_id is None:
                continue
            old_map = self.old_founds.get(key, {})
            for fkey in sorted(e.founds):
                f = e.founds[fkey]
                old = old_map.get(fkey)
                if old is not None and (old.source, old.first_seen, old.last_true) == (f.source, f.first_seen,
                                                                                       f.last_true):
                    continue
                rows.append(dict(tenant_id=self.tenant.id, requirement_id=req_id, kind=f.kind,
                                 source_key=f.source_key, source=f.source, first_seen=f.first_seen,
                                 last_true=f.last_true))
        stale = sorted(old.id for key, old_map in self.old_founds.items() for fkey, old in old_map.items()
                       if key not in self.desired or fkey not in self.desired[key].founds)
        with transaction.atomic():
            if rows:
                upsert(Foundation, rows, unique_fields=["tenant", "requirement", "kind", "source_key"],
                       update_fields=["source", "first_seen", "last_true"])
            for chunk in chunks(stale):
                Foundation.objects.filter(id__in=chunk).delete()
        self.stats["foundations_written"] = len(rows)
        self.stats["foundations_deleted"] = len(stale)

    def links(self) -> None:
        """Consolidation links: a secondary requirement → the requirements that carry it."""
        through = Requirement.consolidated_into.through
        wanted: set[tuple[int, int]] = set()
        for e in self.desired.values():
            src = self.ids.get(e.key)
            if src is None:
                continue
            for target in e.targets:
                dst = self.ids.get((target, e.product_id)) or self._manual_id((target, e.product_id))
                if dst is not None:
                    wanted.add((src, dst))
        base = through.objects.filter(from_requirement__tenant_id=self.tenant.id, from_requirement__manual=False)
        have: dict[tuple[int, int], int] = {}
        for qs in _scoped(base, self.scope, consumer_field="from_requirement__consumer_key",
                          product_field="from_requirement__product_id"):
            for pk, src, dst in qs.values_list("id", "from_requirement_id", "to_requirement_id"):
                have[(src, dst)] = pk
        new = [through(from_requirement_id=s, to_requirement_id=d) for s, d in sorted(wanted - set(have))]
        stale = sorted(pk for pair, pk in have.items() if pair not in wanted)
        with transaction.atomic():
            if new:
                through.objects.bulk_create(new, batch_size=_batch_size(), ignore_conflicts=True)
            for chunk in chunks(stale):
                through.objects.filter(id__in=chunk).delete()
        self.stats["links_written"], self.stats["links_deleted"] = len(new), len(stale)

    def _manual_id(self, key: Key) -> int | None:
        old = self.old_reqs.get(key)
        return old.id if old is not None and old.manual else None

    def cleanup(self) -> None:
        """Delete automatic requirements with no foundation left (their foundations and links cascade)."""
        stale = sorted(old.id for key, old in self.old_reqs.items() if not old.manual and key not in self.desired)
        with transaction.atomic():
            for chunk in chunks(stale):
                Requirement.objects.filter(id__in=chunk, manual=False).delete()
        self.stats["deleted"] = len(stale)


def _resolve_scope(*, changed: dict[str, Iterable[int]] | None) -> list[EngineScope]:
    """The scopes of a run: one full scope, or a consumer scope and/or a product scope for a delta."""
    if not changed:
        return [EngineScope()]
    scopes: list[EngineScope] = []
    devices, persons = set(changed.get("devices") or ()), set(changed.get("persons") or ())
    if devices or persons:
        closed = consumer_closure(device_ids=devices, person_ids=persons, limit=DELTA_LIMIT)
        if closed is None:
            return [EngineScope()]
        scopes.append(closed)
    if changed.get("products"):
        scopes.append(EngineScope(product_ids=frozenset(changed["products"])))
    return scopes or [EngineScope()]


def requirements_compute(*, tenant: Tenant, as_of: dt.date, scope: EngineScope | None = None,
                         job: Job | None = None, on_stage: StageHook | None = None) -> dict[str, Any]:
    """Recompute the requirements of one scope (default: the whole tenant). Call inside the tenant scope.

    ``on_stage(name)`` is called after each stage (``read``, ``plan``, ``requirements``,
    ``foundations``, ``links``, ``cleanup``); raising from it simulates an interrupted run.
    """
    # The run allocates millions of small acyclic objects; the cyclic garbage collector would
    # rescan the growing heap over and over (superlinear time). Reference counting frees them.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _requirements_compute(tenant=tenant, as_of=as_of, scope=scope or EngineScope(), job=job,
                                     on_stage=on_stage)
    finally:
        if gc_was_enabled:
            gc.enable()


def _requirements_compute(*, tenant: Tenant, as_of: dt.date, scope: EngineScope, job: Job | None,
                          on_stage: StageHook | None) -> dict[str, Any]:
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def stage(name: str, progress: int, message: str) -> None:
        timings[name] = round(time.perf_counter() - started, 3)
        if job is not None:
            job_progress(job=job, progress=progress, message=message)
        if on_stage is not None:
            on_stage(name)

    links = Links.build(catalog_inputs.all_product_links(tenant=tenant))
    if scope.product_ids is not None:
        scope = EngineScope(product_ids=frozenset(links.dependency_closure(scope.product_ids)))
    estate: Estate = estate_read(tenant=tenant, scope=scope)
    obs = observe(estate=estate, scope=scope, links=links)
    old_founds = existing_foundations(scope=scope)
    old_reqs = existing_requirements(scope=scope)
    dependency_products = set(links.dependency)
    product_ids = {k[1] for k in obs.found} | {k[1] for k in old_founds} | {k[1] for k in old_reqs}
    for targets in links.dependency.values():
        product_ids.update(targets)
    product_ids |= dependency_products
    rules = catalog_inputs.product_rules(tenant=tenant, product_ids=product_ids)
    labels = product_labels(dependency_products) if dependency_products else {}
    stage("read", 20, "estate read")

    technical = technical_foundations(estate=estate, obs=obs, existing=old_founds, links=links, rules=rules,
                                      product_labels=labels, as_of=as_of, scope=scope)
    planner = Planner(estate=estate, rules=rules, models=catalog_inputs.license_models(tenant=tenant),
                      lookup=catalog_inputs.processor_lookup(tenant=tenant), as_of=as_of,
                      existing_foundations=old_founds, existing_requirements=old_reqs)
    desired = planner.plan(technical, obs.booked)
    stage("plan", 45, f"{len(desired)} requirements planned")

    writer = Writer(tenant=tenant, scope=scope, desired=desired, old_reqs=old_reqs, old_founds=old_founds)
    writer.requirements()
    stage("requirements", 60, "requirements written")
    writer.foundations()
    stage("foundations", 70, "foundations written")
    writer.links()
    stage("links", 75, "consolidation links written")
    writer.cleanup()
    stage("cleanup", 80, "stale requirements removed")
    return {
        "scope": scope.label(),
        "planned": len(desired),
        "requirement_errors": sum(1 for e in desired.values() if e.error),
        **writer.stats,
        "timings": timings,
    }


def recompute_tenant(*, tenant: Tenant, as_of: dt.date, job: Job | None = None,
                     changed: dict[str, Iterable[int]] | None = None,
                     on_stage: StageHook | None = None) -> dict[str, Any]:
    """Recompute a tenant's requirements and then its balance; returns a summary for the job.

    ``changed`` (optional) limits the requirement stage to a delta: ``{"devices": ids,
    "persons": ids, "products": ids}``. Changed consumers are closed over VM ⇄ host and device ⇄
    principal user; changed products over dependency rules. Without it (or when the delta is
    too large) the whole tenant is recomputed. Must run inside ``scope(tenant=tenant)``.
    """
    from requirements_engine.balance import balance_compute
    from requirements_engine.history import history_record

    summaries = [requirements_compute(tenant=tenant, as_of=as_of, scope=s, job=job, on_stage=on_stage)
                 for s in _resolve_scope(changed=changed)]
    total = {k: sum(s.get(k, 0) for s in summaries) for k in ("created", "updated", "deleted", "requirement_errors")}
    count = Requirement.objects.count()
    if job is not None:
        job_progress(job=job, progress=85, message="computing the balance")
    balance = balance_compute(tenant=tenant, as_of=as_of, job=job) or {}
    history = history_record(tenant=tenant, as_of=as_of)  # what this day's balance was built from
    summary_text = (f"{count} requirements ({total['created']} new, {total['updated']} changed, "
                    f"{total['deleted']} removed, {total['requirement_errors']} with errors)")
    return {
        "as_of": as_of.isoformat(),
        "requirements": count,
        **total,
        "scope": ", ".join(s["scope"] for s in summaries),
        "timings": [s["timings"] for s in summaries],
        "summary": summary_text,
        **balance,
        **history,
    }
