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


CHANGE_KINDS = ("devices", "persons", "products")


def merge_changed(first: dict | None, second: dict | None) -> dict | None:
    """The union of two deltas; ``None`` (a full recompute) absorbs any delta."""
    if first is None or second is None:
        return None
    return {kind: sorted(set(first.get(kind, [])) | set(second.get(kind, []))) for kind in CHANGE_KINDS
            if first.get(kind) or second.get(kind)}


def recompute_request(*, tenant: Tenant, as_of: dt.date | None = None, reason: str = "", actor=None,
                      changed: dict | None = None) -> Job:
    """Ask for a recompute of the tenant; runs in a worker when one is configured, inline otherwise.

    ``changed`` (``{"devices": ids, "persons": ids, "products": ids}``) asks for an incremental run
    over those consumers and products only; without it the run is full. Requests that join a queued
    job merge their deltas, and a full request makes the queued job full.
    """
    delta = None if changed is None else {k: sorted({int(i) for i in changed.get(k, [])}) for k in CHANGE_KINDS
                                          if changed.get(k)}
    params = {"as_of": as_of.isoformat() if as_of else None, "reasons": [reason] if reason else [],
              "changed": delta}
    with transaction.atomic():
        queued = (
            Job.objects.select_for_update().filter(kind=RECOMPUTE, state=JobState.QUEUED).order_by("created_at").first()
        )
        if queued is not None:
            reasons = (queued.params.get("reasons") or [])[-20:]
            if reason:
                reasons.append(reason)
            queued.params = {**queued.params, "reasons": reasons, "as_of": params["as_of"] or queued.params.get("as_of"),
                             "changed": merge_changed(queued.params.get("changed"), delta)}
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
        summary = recompute_tenant(tenant=job.tenant, as_of=as_of, job=job, changed=job.params.get("changed"))
        job_finish(job=job, result=summary, message="Recomputed")
    return summary


def recompute_now(*, tenant: Tenant, as_of: dt.date, actor=None) -> dict:
    """Synchronous full recompute (the ``recompute`` command)."""
    job = job_create(tenant=tenant, kind=RECOMPUTE, params={"as_of": as_of.isoformat(), "full": True},
                     user=actor if hasattr(actor, "username") else None, message="manual recompute")
    return run_recompute_job(job=job)
