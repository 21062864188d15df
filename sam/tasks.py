"""Thin Celery tasks of the shell: ids in, the tenant's scope entered, the service does the work."""
from __future__ import annotations

from celery import shared_task
from django_scopes import scope

from sam.models import Job, Tenant


@shared_task(name="sam.tasks.import_task", acks_late=True)
def import_task(tenant_id: int, job_id: int) -> dict:
    from sam.uploads import import_job_run

    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        return import_job_run(job=Job.objects.get(pk=job_id))


@shared_task(name="sam.tasks.ping", acks_late=True)
def ping(tenant_id: int, job_id: int) -> str:
    """Finish a job: proves a worker consumes tasks and writes to the same database (health checks)."""
    from sam.jobs import job_claim, job_finish

    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        if job_claim(job_id=job_id):
            job_finish(job=Job.objects.get(pk=job_id), result={"pong": True}, message="pong")
    return "pong"


@shared_task(name="sam.tasks.sweep_stale_jobs")
def sweep_stale_jobs() -> int:
    """Beat, every few minutes: running jobs of a dead worker become failed/interrupted."""
    import datetime as dt

    from django.conf import settings

    from sam.jobs import job_sweep_stale

    return job_sweep_stale(stale_after=dt.timedelta(minutes=settings.SAM_JOB_STALE_MINUTES))
