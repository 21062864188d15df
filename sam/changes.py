"""The change-event port: apps say *what changed*; the engine, registered from above, applies it.

A service that changes something the engine reads calls :func:`change_record` (or
:func:`changes_record`) inside its own transaction. The event row is the outbox: it commits with
the change or not at all. After the commit the core asks the registered drain handler to run (the
engine registers one in its ``AppConfig.ready()``; the core never imports the engine). The handler
queues a Celery task when a broker is configured and runs inline otherwise. If the broker or the
worker is down the event simply stays ``pending``; the next drain (the next change, the periodic
task, or ``manage.py recompute``) claims it.

Kinds and ids (see :class:`sam.models.ChangeKind`):

==============  ==============================================================================
``devices``     device ids whose evidence changed (installations, hardware, VM placement, usage…)
``persons``     person ids (status, memberships, remote usage, service bookings…)
``products``    catalog product ids whose rules changed (license model, use rights, fingerprints)
``entitlements`` License/Maintenance ids created, edited, published, deleted or transferred
``positions``   ``[product_id, license_model]`` pairs (a confirmation, an exemption)
``full``        anything else: catalog rules that affect every product, tenant settings, "recompute"
==============  ==============================================================================
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from django.db import connection, transaction
from django_scopes import scope, scopes_disabled

from sam.audit import actor_label
from sam.models import ChangeEvent, ChangeKind, ChangeState, Tenant

log = logging.getLogger(__name__)

#: The first key of the PostgreSQL advisory lock of a tenant's engine run ("SAMe").
RUN_LOCK_NAMESPACE = 0x53414D65 & 0x7FFFFFFF

#: Keys of the delta dictionary that carry integer ids.
ID_KINDS = (ChangeKind.DEVICES, ChangeKind.PERSONS, ChangeKind.PRODUCTS, ChangeKind.ENTITLEMENTS)


class DrainHandler(Protocol):
    def __call__(self, *, tenant: Tenant, reason: str, actor: Any, as_of: dt.date | None) -> Any: ...


_drain_handler: DrainHandler | None = None


def drain_handler_register(handler: DrainHandler) -> None:
    """Register the function that applies a tenant's pending changes (the engine does, once)."""
    global _drain_handler
    _drain_handler = handler


def drain_handler() -> DrainHandler | None:
    return _drain_handler


def _normalise(kind: str, ids: Iterable[Any]) -> list:
    if kind == ChangeKind.POSITIONS:
        pairs = {(int(p), str(m)) for p, m in ids}
        return [list(pair) for pair in sorted(pairs)]
    return sorted({int(i) for i in ids})


def change_record(*, tenant: Tenant, kind: str, ids: Iterable[Any] = (), reason: str = "", actor: Any = None,
                  as_of: dt.date | None = None, drain: bool = True) -> ChangeEvent | None:
    """Record that ``ids`` of ``kind`` changed, in the caller's transaction; drain after its commit.

    Returns ``None`` (and records nothing) for a delta kind without ids: nothing changed.
    ``drain=False`` only records (a caller that drains once for many events, or a test).
    """
    if kind not in ChangeKind.values:
        raise ValueError(f"unknown change kind {kind!r}")
    clean = [] if kind == ChangeKind.FULL else _normalise(kind, ids)
    if kind != ChangeKind.FULL and not clean:
        return None
    event = ChangeEvent.objects.create(tenant=tenant, kind=kind, ids=clean, as_of=as_of, reason=reason[:200],
                                       actor_label=actor_label(actor)[:150])
    if drain:
        _drain_after_commit(tenant=tenant, reason=reason, actor=actor, as_of=as_of)
    return event


def changes_record(*, tenant: Tenant, changed: dict[str, Iterable[Any]] | None, reason: str = "", actor: Any = None,
                   as_of: dt.date | None = None, drain: bool = True) -> list[ChangeEvent]:
    """Record a delta dictionary (``{"devices": ids, ...}``) as events; ``None`` records a full change."""
    if changed is None:
        event = change_record(tenant=tenant, kind=ChangeKind.FULL, reason=reason, actor=actor, as_of=as_of,
                              drain=drain)
        return [event] if event else []
    unknown = set(changed) - set(ChangeKind.values)
    if unknown:
        raise ValueError(f"unknown change kinds {sorted(unknown)}")
    events = [change_record(tenant=tenant, kind=kind, ids=ids, reason=reason, actor=actor, as_of=as_of, drain=False)
              for kind, ids in changed.items()]
    events = [e for e in events if e is not None]
    if events and drain:
        _drain_after_commit(tenant=tenant, reason=reason, actor=actor, as_of=as_of)
    return events


def _drain_after_commit(*, tenant: Tenant, reason: str, actor: Any, as_of: dt.date | None) -> None:
    transaction.on_commit(lambda: changes_drain_request(tenant=tenant, reason=reason, actor=actor, as_of=as_of,
                                                        only_if_pending=True))


def changes_drain_request(*, tenant: Tenant, reason: str = "", actor: Any = None, as_of: dt.date | None = None,
                          only_if_pending: bool = False) -> Any:
    """Ask the registered handler to apply the tenant's pending changes; returns what it returns.

    Never raises for a broker that is down: the events stay pending and a later drain applies them.
    ``only_if_pending`` skips the call when an earlier drain of the same commit already took them.
    """
    handler = _drain_handler
    if handler is None:
        log.warning("no drain handler registered: changes of %s stay pending", tenant.slug)
        return None
    with scope(tenant=tenant):
        if only_if_pending and not ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.PENDING).exists():
            return None
        return handler(tenant=tenant, reason=reason, actor=actor, as_of=as_of)


def changes_pending_tenant_ids() -> list[int]:
    """Tenants with pending (or abandoned, claimed) change events: one query over the outbox.

    The periodic drain needs to look across tenants; this is the one reviewed unscoped read of the
    outbox, and it returns ids only.
    """
    with scopes_disabled():
        return sorted(set(ChangeEvent.objects.exclude(state=ChangeState.DONE).values_list("tenant_id", flat=True)))


@contextmanager
def tenant_run_lock(*, tenant_id: int, on_wait: Callable[[], Any] | None = None) -> Iterator[None]:
    """Hold the tenant's run lock for the block: runs of one tenant never overlap.

    On PostgreSQL a session-level advisory lock keyed by (namespace, tenant id) waits for another
    run of the same tenant; runs of other tenants take other keys and go on in parallel. The lock
    goes with the connection if the process dies. SQLite serialises writers itself and the
    embedded default runs inline, so there the job claim suffices. ``on_wait`` is called once when
    another run holds the lock (the job says it is waiting).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, tenant_id])
        if not cursor.fetchone()[0]:
            if on_wait is not None:
                on_wait()
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [RUN_LOCK_NAMESPACE, tenant_id])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_NAMESPACE, tenant_id])
        except Exception:  # noqa: BLE001 - an aborted transaction: the lock goes with the connection
            log.warning("run lock of tenant %s not released; it goes with the connection", tenant_id)
            connection.close()


# --- claiming and merging (used by the drain handler) ------------------------------------------------


def changes_claim(*, tenant: Tenant, job_id: int) -> list[ChangeEvent]:
    """Claim the tenant's pending events for one run with a conditional UPDATE; returns them.

    ``UPDATE … SET state = 'claimed' WHERE state = 'pending'``: a concurrent claimer re-reads the
    row after the first commits and skips it, so every event is applied by exactly one run.
    """
    with transaction.atomic():
        claimed = ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.PENDING).update(
            state=ChangeState.CLAIMED, job_id=job_id)
    if not claimed:
        return []
    return list(ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.CLAIMED, job_id=job_id).order_by("id"))


def changes_release(*, tenant: Tenant, job_id: int) -> int:
    """Hand a failed run's events back: they stay pending for the next drain."""
    return ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.CLAIMED, job_id=job_id).update(
        state=ChangeState.PENDING, job=None)


def changes_release_abandoned(*, tenant: Tenant, running_job_ids: Iterable[int]) -> int:
    """Events claimed by a run that died (its process killed mid-run) go back to pending.

    Call while holding the tenant's run lock: no other run of the tenant is active then, except
    the ones named in ``running_job_ids`` (on SQLite, where there is no lock, the running jobs).
    """
    return (ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.CLAIMED)
            .exclude(job_id__in=list(running_job_ids)).update(state=ChangeState.PENDING, job=None))


def changes_done(*, tenant: Tenant, job_id: int) -> int:
    from django.utils import timezone

    return ChangeEvent.objects.filter(tenant=tenant, state=ChangeState.CLAIMED, job_id=job_id).update(
        state=ChangeState.DONE, applied_at=timezone.now())


def changes_merge(events: Iterable[ChangeEvent]) -> dict[str, list] | None:
    """The minimal delta covering the events: ``None`` (a full run) when any is full, else the union per kind."""
    merged: dict[str, set] = {}
    for event in events:
        if event.kind == ChangeKind.FULL:
            return None
        bucket = merged.setdefault(event.kind, set())
        if event.kind == ChangeKind.POSITIONS:
            bucket.update((int(p), str(m)) for p, m in event.ids)
        else:
            bucket.update(int(i) for i in event.ids)
    out: dict[str, list] = {}
    for kind in ChangeKind.values:
        if merged.get(kind):
            out[kind] = [list(p) for p in sorted(merged[kind])] if kind == ChangeKind.POSITIONS else sorted(merged[kind])
    return out


def change_reasons(events: Iterable[ChangeEvent], limit: int = 20) -> list[str]:
    """The distinct reasons of the events, oldest first (for the job row the UI shows)."""
    seen: list[str] = []
    for event in events:
        if event.reason and event.reason not in seen:
            seen.append(event.reason)
    return seen[-limit:]

