"""Background jobs with progress. The same function runs in a worker or inline."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from sam.models import Job, JobState, Tenant


def job_create(*, tenant: Tenant, kind: str, params: dict | None = None, user=None, message: str = "") -> Job:
    return Job.objects.create(tenant=tenant, kind=kind, params=params or {}, created_by=user, message=message)


def job_claim(*, job_id: int) -> bool:
    """Take a queued job; False when another worker already took it (or it finished)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(state=JobState.RUNNING, started_at=now,
                                                                    heartbeat_at=now)
    )


def job_progress(*, job: Job, progress: int, message: str = "") -> None:
    """Report progress; written outside any open transaction's view via a plain UPDATE."""
    job.progress = max(0, min(100, int(progress)))
    if message:
        job.message = message[:500]
    Job.objects.filter(pk=job.pk).update(progress=job.progress, message=job.message, heartbeat_at=timezone.now())


def job_finish(*, job: Job, result: dict | None = None, message: str = "") -> None:
    job.state = JobState.DONE
    job.progress = 100
    job.result = result or {}
    job.finished_at = timezone.now()
    if message:
        job.message = message[:500]
    Job.objects.filter(pk=job.pk).update(
        state=job.state, progress=100, result=job.result, finished_at=job.finished_at, message=job.message
    )


def job_fail(*, job: Job, error: str) -> None:
    job.state = JobState.FAILED
    job.error = error
    job.finished_at = timezone.now()
    Job.objects.filter(pk=job.pk).update(state=job.state, error=error[:10000], finished_at=job.finished_at)


@contextmanager
def job_running(*, job: Job) -> Iterator[Job]:
    """Mark a job running for the block; failed with the error if the block raises."""
    if job.state == JobState.QUEUED:
        job_claim(job_id=job.pk)
        job.state = JobState.RUNNING
        job.started_at = timezone.now()
    try:
        yield job
    except Exception as exc:  # noqa: BLE001 - the job shows the error, the caller still sees it
        transaction.on_commit(lambda: None)
        job_fail(job=job, error=f"{type(exc).__name__}: {exc}")
        raise


INTERRUPTED = ("Interrupted: the process running this job stopped (no sign of life for {minutes} minutes). "
               "What it finished stays and nothing is half-written; run it again to complete it.")


def job_sweep_stale(*, stale_after: dt.timedelta) -> int:
    """Mark running jobs whose process died (no heartbeat for ``stale_after``) as failed/interrupted.

    A killed worker leaves its job "running" for ever, and the redelivered task skips a job that is
    not queued; this says what happened instead. Every tenant's jobs: a named, reviewed unscoped
    path (beat runs it, see CELERY_BEAT_SCHEDULE). Returns how many jobs it marked.
    """
    from django.db.models import Q
    from django.db.models.functions import Coalesce
    from django_scopes import scopes_disabled

    now = timezone.now()
    minutes = max(1, round(stale_after.total_seconds() / 60))
    with scopes_disabled():
        stale = (Job.objects.filter(state=JobState.RUNNING)
                 .annotate(seen=Coalesce("heartbeat_at", "started_at", "created_at"))
                 .filter(Q(seen__lt=now - stale_after)))
        return Job.objects.filter(pk__in=list(stale.values_list("pk", flat=True)), state=JobState.RUNNING).update(
            state=JobState.FAILED, finished_at=now, error=INTERRUPTED.format(minutes=minutes))
