"""Thin Celery tasks: ids in, scope entered, the service does the work."""
from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from sam.models import Job, Tenant


@shared_task(name="requirements_engine.tasks.recompute_task", acks_late=True)
def recompute_task(tenant_id: int, job_id: int) -> dict:
    from requirements_engine.services import run_recompute_job

    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        job = Job.objects.get(pk=job_id)
        return run_recompute_job(job=job)


@shared_task(name="requirements_engine.tasks.snapshot_all_tenants")
def snapshot_all_tenants() -> int:
    from requirements_engine.services import recompute_request

    count = 0
    for tenant in Tenant.objects.all():
        with scope(tenant=tenant):
            recompute_request(tenant=tenant, reason="daily snapshot")
        count += 1
    return count
