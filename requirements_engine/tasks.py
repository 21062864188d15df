"""Thin Celery tasks: ids in, scope entered, the service does the work."""
from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from requirements_engine.services import drain_pending, run_recompute_job
from sam.changes import change_record, changes_pending_tenant_ids
from sam.models import ChangeKind, Job, Tenant


@shared_task(name="requirements_engine.tasks.recompute_task", acks_late=True)
def recompute_task(tenant_id: int, job_id: int) -> dict:
    """Run one queued recompute job: apply the tenant's pending change events."""
    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        job = Job.objects.get(pk=job_id)
        return run_recompute_job(job=job)


@shared_task(name="requirements_engine.tasks.drain_pending_changes")
def drain_pending_changes() -> int:
    """The periodic drain: every tenant with changes still pending (say, recorded while the broker was
    down) gets its recompute queued again. Returns how many tenants."""
    ids = changes_pending_tenant_ids()
    for tenant in Tenant.objects.filter(pk__in=ids):
        with scope(tenant=tenant):
            drain_pending(tenant=tenant)
    return len(ids)


@shared_task(name="requirements_engine.tasks.snapshot_all_tenants")
def snapshot_all_tenants() -> int:
    """The daily full run of every tenant (a full change event each, drained as usual)."""
    count = 0
    for tenant in Tenant.objects.all():
        with scope(tenant=tenant):
            change_record(tenant=tenant, kind=ChangeKind.FULL, reason="daily snapshot")
        count += 1
    return count
