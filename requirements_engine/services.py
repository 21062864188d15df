"""Starting recomputes: one path for imports, edits, the command and the worker.

``recompute_request`` coalesces: at most one queued recompute per tenant. A request while one is
queued joins it; a request while one runs queues exactly one more (which will see the new data).
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from sam.jobs import job_create, job_finish, job_running
from sam.models import Job, JobState, Tenant

RECOMPUTE = "recompute"


def recompute_request(*, tenant: Tenant, as_of: dt.date | None = None, reason: str = "", actor=None) -> Job:
    """Ask for a recompute of the tenant; runs in a worker when one is configured, inline otherwise."""
    params = {"as_of": as_of.isoformat() if as_of else None, "reasons": [reason] if reason else []}
    with transaction.atomic():
        queued = (
            Job.objects.select_for_update().filter(kind=RECOMPUTE, state=JobState.QUEUED).order_by("created_at").first()
        )
        if queued is not None:
            reasons = (queued.params.get("reasons") or [])[-20:]
            if reason:
                reasons.append(reason)
            queued.params = {**queued.params, "reasons": reasons, "as_of": params["as_of"] or queued.params.get("as_of")}
            queued.save(update_fields=["params"])
            return queued
        job = job_create(tenant=tenant, kind=RECOMPUTE, params=params,
                         user=actor if hasattr(actor, "username") else None, message=reason)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        run_recompute_job(job=job)
    else:
        from requirements_engine.tasks import recompute_task

        transaction.on_commit(lambda: recompute_task.delay(tenant.id, job.id))
    return job


def run_recompute_job(*, job: Job) -> dict:
    from requirements_engine.engine import recompute_tenant
    from sam.jobs import job_claim

    if not job_claim(job_id=job.pk):
        return {}
    job.refresh_from_db()
    as_of = dt.date.fromisoformat(job.params["as_of"]) if job.params.get("as_of") else dt.date.today()
    with job_running(job=job):
        summary = recompute_tenant(tenant=job.tenant, as_of=as_of, job=job)
        job_finish(job=job, result=summary, message="Recomputed")
    return summary


def recompute_now(*, tenant: Tenant, as_of: dt.date, actor=None) -> dict:
    """Synchronous full recompute (the ``recompute`` command)."""
    job = job_create(tenant=tenant, kind=RECOMPUTE, params={"as_of": as_of.isoformat(), "full": True},
                     user=actor if hasattr(actor, "username") else None, message="manual recompute")
    return run_recompute_job(job=job)
