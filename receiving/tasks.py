"""Thin tasks: ids in, load, call the service."""
from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django_scopes import scope

from sam.models import Job, Tenant


def run_import_job(*, job_id: int, user_id: int | None) -> None:
    """Receive the uploaded file a job describes; the job shows progress and the outcome."""
    from django_scopes import scopes_disabled

    from receiving.importers import receive_upload
    from receiving.models import ImportProfile
    from receiving.validation import Options
    from sam.importing import ImportFileError
    from sam.jobs import job_claim, job_fail, job_finish, job_running

    with scopes_disabled():  # the job's tenant is what we are about to scope to
        tenant_id = Job.objects.values_list("tenant_id", flat=True).get(pk=job_id)
    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        job = Job.objects.get(pk=job_id)
        if not job_claim(job_id=job.pk):
            return
        job.refresh_from_db()
        params = job.params
        user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
        try:
            with default_storage.open(params["key"], "rb") as fh:
                data = fh.read()
            with job_running(job=job):
                profile = ImportProfile.objects.filter(pk=params.get("profile") or 0).first()
                try:
                    outcome = receive_upload(tenant=tenant, actor=user, data=data, filename=params["filename"],
                                             mapping=params.get("mapping"), profile=profile,
                                             options=Options(**params.get("options", {})), job=job)
                except ImportFileError as exc:
                    job_fail(job=job, error=str(exc))
                    return
                summary = (f"{outcome.read} lines read: {outcome.created} new, {outcome.skipped} received before, "
                           f"{outcome.transferred} transferred, {outcome.waiting} waiting in receiving inspection.")
                job_finish(job=job, result={**outcome.as_dict(), "summary": summary, "errors": outcome.errors[:200]},
                           message=summary)
        finally:
            if default_storage.exists(params["key"]):
                default_storage.delete(params["key"])


@shared_task(acks_late=True)
def receiving_import_task(tenant_id: int, job_id: int, user_id: int | None = None) -> None:
    run_import_job(job_id=job_id, user_id=user_id)


@shared_task(acks_late=True)
def receiving_revalidate_task(tenant_id: int) -> None:
    from receiving.services import receiving_revalidate

    tenant = Tenant.objects.get(pk=tenant_id)
    with scope(tenant=tenant):
        receiving_revalidate(tenant=tenant, actor="receiving.revalidate")
