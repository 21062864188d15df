"""The recompute pipeline: foundations → requirements → consolidation → confirmation → balance.

``recompute_tenant`` is the one entry point (the command, the worker and inline recomputes call it
through ``requirements_engine.services``). A run:

1. reads the estate, the stored rows and the catalog rules as columns (``frames``: ``COPY`` on
   PostgreSQL, the cursor on SQLite; a fixed number of queries);
2. derives the foundations and the desired requirements with columnar joins (``columnar``, Polars),
   keyed by (consumer_key, product_id) — no Python object per installation or requirement;
3. writes only the difference to what is stored: new rows with ``COPY``, changed rows with one
   ``UPDATE ... FROM`` a temporary table, stale rows with one ``DELETE`` per table;
4. calls the balance (``balance.balance_compute``): all positions after a full run, only the
   allocation components of the touched products after a delta.

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

from requirements_engine import catalog_inputs
from requirements_engine.foundations import (
    EngineScope,
    Links,
    consumer_closure,
    consumer_partitions,
    product_labels,
)
from requirements_engine.models import Requirement
from sam.jobs import job_progress
from sam.models import Job, Tenant

#: A delta whose closure exceeds this many consumers runs as a full recompute instead.
DELTA_LIMIT = 20_000
#: A full run of a tenant with more consumers than this runs in partitions of about this size
#: (closed components of the consumer graph), which bounds the memory of a run.
PARTITION_SIZE = 25_000

StageHook = Callable[[str], None]


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
    # The cyclic garbage collector has nothing to find in frames; keep it from rescanning the heap.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        scope = scope or EngineScope()
        parts = consumer_partitions(size=PARTITION_SIZE) if scope.full else None
        if not parts:
            return _requirements_compute(tenant=tenant, as_of=as_of, scope=scope, job=job, on_stage=on_stage)
        summaries = []
        for part in parts:
            summaries.append(_requirements_compute(tenant=tenant, as_of=as_of, scope=part, job=job,
                                                   on_stage=on_stage))
            gc.collect()
        return {
            "scope": f"full ({len(parts)} partitions)",
            "touched_products": sorted({p for s in summaries for p in s["touched_products"]}),
            **{k: sum(s[k] for s in summaries) for k in summaries[0] if k not in ("scope", "touched_products",
                                                                                "timings")},
            "timings": [s["timings"] for s in summaries],
        }
    finally:
        if gc_was_enabled:
            gc.enable()


def _requirements_compute(*, tenant: Tenant, as_of: dt.date, scope: EngineScope, job: Job | None,
                                   on_stage: StageHook | None) -> dict[str, Any]:
    import polars as pl

    from requirements_engine import columnar

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
    inp = columnar.Inputs(tenant=tenant, scope=scope, links=links, as_of=as_of)
    observed, booked = inp.observe()
    old_founds = columnar.stored_foundations(scope=scope)
    old_reqs = columnar.stored_requirements(scope=scope)
    dependency_products = set(links.dependency)
    product_ids = set(pl.concat([observed["pid"], old_founds["pid"], old_reqs["pid"]]).unique().to_list())
    for targets in links.dependency.values():
        product_ids.update(targets)
    product_ids |= dependency_products
    rules = catalog_inputs.product_rules(tenant=tenant, product_ids=product_ids)
    products = columnar.product_frame(rules, catalog_inputs.license_models(tenant=tenant))
    labels = product_labels(dependency_products) if dependency_products else {}
    stage("read", 20, "estate read")

    plan = columnar.plan(inp=inp, observed=observed, booked=booked, old_founds=old_founds, old_reqs=old_reqs,
                         products=products, labels=labels, lookup=catalog_inputs.processor_lookup(tenant=tenant),
                         as_of=as_of)
    stage("plan", 45, f"{plan.reqs.height} requirements planned")

    writer = columnar.FrameWriter(tenant=tenant, scope=scope, plan=plan, old_reqs=old_reqs, old_founds=old_founds)
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
        "touched_products": sorted(writer.touched),
        "planned": plan.reqs.height,
        "requirement_errors": plan.reqs.filter(pl.col("error") != "").height,
        **writer.stats,
        "timings": timings,
    }


#: The kinds of ``changed`` a run understands; any other key makes the run full.
ESTATE_KINDS = ("devices", "persons", "products")
BALANCE_KINDS = ("entitlements", "positions")


def recompute_tenant(*, tenant: Tenant, as_of: dt.date, job: Job | None = None,
                     changed: dict[str, Iterable] | None = None,
                     on_stage: StageHook | None = None) -> dict[str, Any]:
    """Recompute a tenant's requirements and then its balance; returns a summary for the job.

    ``changed=None`` is a full run. Otherwise ``changed`` names what changed (docs/engine.md, "The
    contract of a run"):

    * ``devices`` / ``persons`` (ids): those consumers, closed over VM ⇄ host and device ⇄ principal
      user, are recomputed; ``products`` (ids): those products, closed over dependency rules, for
      every consumer. The balance then re-allocates the components of the products whose
      requirement rows changed.
    * ``entitlements`` (ids of licenses / maintenances created, edited, published, deleted or
      transferred) and ``positions`` (``[product_id, license_model]`` pairs, e.g. after a
      confirmation or exemption): requirements are not recomputed; only the allocation components
      touching them are re-allocated and only their balance rows written.
    * any other key: a full run.

    Must run inside ``scope(tenant=tenant)``.
    """
    from requirements_engine.balance import balance_compute, balance_touched_products
    from requirements_engine.history import history_record

    if changed and any(k not in ESTATE_KINDS + BALANCE_KINDS for k in changed):
        changed = None  # a kind this engine does not know: be safe, recompute everything
    full = not changed
    estate = {k: changed[k] for k in ESTATE_KINDS if changed and changed.get(k)}
    if full:
        summaries = [requirements_compute(tenant=tenant, as_of=as_of, job=job, on_stage=on_stage)]
    else:
        summaries = [requirements_compute(tenant=tenant, as_of=as_of, scope=s, job=job, on_stage=on_stage)
                     for s in (_resolve_scope(changed=estate) if estate else [])]
    total = {k: sum(s.get(k, 0) for s in summaries) for k in ("created", "updated", "deleted", "requirement_errors")}
    touched: set[int] = set()
    for s in summaries:
        touched.update(s.pop("touched_products", ()))
    # Counting 1.3 million rows takes a second at 100,000 devices: a balance-only run skips it.
    count = Requirement.objects.count() if summaries else None
    if job is not None:
        job_progress(job=job, progress=85, message="computing the balance")
    if full:
        balance = balance_compute(tenant=tenant, as_of=as_of, job=job) or {}
    else:
        touched |= balance_touched_products(tenant=tenant, as_of=as_of,
                                            entitlement_ids=changed.get("entitlements") or (),
                                            positions=changed.get("positions") or ())
        balance = balance_compute(tenant=tenant, as_of=as_of, job=job, product_ids=touched) or {}
    # What this day's balance was built from. An entitlements-only delta leaves every requirement
    # as it was, so its history is unchanged; confirmations (positions) change requirement rows.
    history = ({} if changed and set(k for k, v in changed.items() if v) <= {"entitlements"}
               else history_record(tenant=tenant, as_of=as_of))
    if count is None:
        summary_text = f"balance re-allocated ({balance.get('balance_scope', 'all positions')})"
    else:
        summary_text = (f"{count} requirements ({total['created']} new, {total['updated']} changed, "
                        f"{total['deleted']} removed, {total['requirement_errors']} with errors)")
    return {
        "as_of": as_of.isoformat(),
        "requirements": count,
        **total,
        "scope": ", ".join(s["scope"] for s in summaries) or "balance only",
        "timings": [s["timings"] for s in summaries],
        "summary": summary_text,
        **balance,
        **history,
    }
