"""Applying recorded changes: the engine's drain of the core's outbox (``sam.changes``).

Apps record change events; after their commit the core calls :func:`drain_request` (registered in
``requirements_engine.apps``). A drain request coalesces: at most one queued recompute job per
tenant; a request while one is queued joins it (its reason is added), a request while one runs
queues exactly one more. The job's run (:func:`run_recompute_job`, in a worker or inline) takes the
tenant's run lock, claims the pending events, merges them into the minimal ``changed`` delta (a full
event absorbs every delta), runs ``recompute_tenant`` and marks the events done. On failure the
events go back to pending; nothing is lost while Redis or the worker is down.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requirements_engine.engine import recompute_tenant
from sam.changes import (
    change_reasons,
    changes_claim,
    changes_done,
    changes_merge,
    changes_record,
    changes_release,
    changes_release_abandoned,
    tenant_run_lock,
)
from sam.jobs import job_claim, job_create, job_fail, job_finish, job_progress, job_running
from sam.models import ChangeKind, Job, JobState, Tenant

log = logging.getLogger(__name__)

RECOMPUTE = "recompute"

CHANGE_KINDS = tuple(k for k in ChangeKind.values if k != ChangeKind.FULL)


def merge_changed(first: dict | None, second: dict | None) -> dict | None:
    """The union of two deltas; ``None`` (a full recompute) absorbs any delta."""
    if first is None or second is None:
        return None
    out: dict[str, list] = {}
    for kind in CHANGE_KINDS:
        if not (first.get(kind) or second.get(kind)):
            continue
        if kind == ChangeKind.POSITIONS:
            pairs = {(int(p), str(m)) for p, m in [*first.get(kind, []), *second.get(kind, [])]}
            out[kind] = [list(p) for p in sorted(pairs)]
        else:
            out[kind] = sorted(set(first.get(kind, [])) | set(second.get(kind, [])))
    return out


def recompute_request(*, tenant: Tenant, as_of: dt.date | None = None, reason: str = "", actor=None,
                      changed: dict | None = None) -> Job:
    """Record a change (full unless ``changed`` names a delta) and drain it now: the engine's own buttons.

    Apps below the engine record change events through ``sam.changes`` instead. The job runs inline
    without a broker; with one, it is queued when the caller's transaction commits.
    """
    changes_record(tenant=tenant, changed=changed, reason=reason, actor=actor, as_of=as_of, drain=False)
    return drain_request(tenant=tenant, reason=reason, actor=actor, as_of=as_of)


def drain_request(*, tenant: Tenant, reason: str = "", actor: Any = None, as_of: dt.date | None = None) -> Job:
    """Queue (or join) the tenant's recompute job; run it inline without a broker, else send the task.

    This is the drain handler the engine registers with the core. A broker that cannot be reached
    fails the job with the reason; the events stay pending for the next drain.
    """
    as_of_text = as_of.isoformat() if as_of else None
    with transaction.atomic():
        queued = (Job.objects.select_for_update().filter(tenant=tenant, kind=RECOMPUTE, state=JobState.QUEUED)
                  .order_by("created_at").first())
        if queued is not None:
            reasons = (queued.params.get("reasons") or [])[-20:]
            if reason and reason not in reasons:
                reasons.append(reason)
            queued.params = {**queued.params, "reasons": reasons, "as_of": as_of_text or queued.params.get("as_of")}
            queued.save(update_fields=["params"])
            return queued
        job = job_create(tenant=tenant, kind=RECOMPUTE,
                         params={"as_of": as_of_text, "reasons": [reason] if reason else []},
                         user=actor if hasattr(actor, "username") else None, message=reason)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_recompute_job(job=job)
    else:
        transaction.on_commit(lambda: _send(job))
    return job


def _send(job: Job) -> None:
    from requirements_engine.tasks import recompute_task

    try:
        recompute_task.delay(job.tenant_id, job.pk)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the outbox keeps the changes
        log.warning("recompute of tenant %s not queued (%s); its changes stay pending", job.tenant_id, exc)
        job_fail(job=job, error=f"the broker could not be reached ({type(exc).__name__}); the changes stay "
                                "pending and the next drain applies them")


def run_recompute_job(*, job: Job) -> dict:
    """Apply the tenant's pending changes in one engine run (a claimed job; a second delivery does nothing).

    Holds the tenant's run lock for the whole run, so two runs of one tenant never overlap.
    A job with ``params["full"]`` (the ``recompute`` command) runs full and absorbs every pending event.
    """
    if not job_claim(job_id=job.pk):
        return {}
    job.refresh_from_db()
    tenant = job.tenant
    waiting = lambda: job_progress(job=job, progress=0, message="waiting for the tenant's other run")  # noqa: E731
    with job_running(job=job), tenant_run_lock(tenant_id=tenant.pk, on_wait=waiting):
        # The interval the run held the tenant (shown on the job, and what the overlap test checks).
        ran_from = timezone.now()
        running = list(Job.objects.filter(tenant=tenant, kind=RECOMPUTE, state=JobState.RUNNING)
                       .values_list("pk", flat=True)) if not _has_run_lock() else [job.pk]
        changes_release_abandoned(tenant=tenant, running_job_ids=running)
        events = changes_claim(tenant=tenant, job_id=job.pk)
        full = bool(job.params.get("full"))
        if not events and not full:
            job_finish(job=job, result={"summary": "nothing to apply"}, message="Nothing to apply")
            return {}
        changed = None if full else changes_merge(events)
        as_of = _as_of(job=job, events=events)
        reasons = change_reasons(events)
        job.params = {**job.params, "as_of": as_of.isoformat(), "changed": changed,
                      "reasons": [*(job.params.get("reasons") or []), *(r for r in reasons
                                                                        if r not in (job.params.get("reasons") or []))][-20:],
                      "events": len(events)}
        Job.objects.filter(pk=job.pk).update(params=job.params)
        job_progress(job=job, progress=1, message=f"applying {len(events)} change(s)" if events else "full recompute")
        try:
            summary = recompute_tenant(tenant=tenant, as_of=as_of, job=job, changed=changed)
        except Exception:
            changes_release(tenant=tenant, job_id=job.pk)
            raise
        changes_done(tenant=tenant, job_id=job.pk)
        summary = {**summary, "events": len(events),
                   "run": {"from": ran_from.isoformat(), "to": timezone.now().isoformat()}}
        job_finish(job=job, result=summary, message="Recomputed")
    return summary


def _has_run_lock() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _as_of(*, job: Job, events: list) -> dt.date:
    """The job's day (a request or the command gave one), else the latest event's, else today."""
    if job.params.get("as_of"):
        return dt.date.fromisoformat(job.params["as_of"])
    days = [e.as_of for e in events if e.as_of]
    return days[-1] if days else dt.date.today()


def recompute_now(*, tenant: Tenant, as_of: dt.date, actor=None) -> dict:
    """Synchronous full recompute (the ``recompute`` command); applies every pending change with it."""
    job = job_create(tenant=tenant, kind=RECOMPUTE, params={"as_of": as_of.isoformat(), "full": True,
                                                            "reasons": ["manual recompute"]},
                     user=actor if hasattr(actor, "username") else None, message="manual recompute")
    return run_recompute_job(job=job)


def drain_pending(*, tenant: Tenant, reason: str = "pending changes") -> Job | None:
    """The periodic drain for one tenant: re-send a queued job (its message may be lost) or queue one."""
    queued = Job.objects.filter(tenant=tenant, kind=RECOMPUTE, state=JobState.QUEUED).order_by("created_at").first()
    if queued is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        _send(queued)  # a second delivery of the same job is harmless: the claim is conditional
        return queued
    if queued is not None:
        run_recompute_job(job=queued)
        return queued
    return drain_request(tenant=tenant, reason=reason)
