"""Browser imports: keep the uploaded file while it is mapped and imported, run it as a job.

The file lives under ``MEDIA_ROOT/imports/<tenant id>/<token>/`` from the upload until its job
finishes; the token (random hex) is the only handle the browser gets, so a user cannot point the
importer at another path or at another tenant's upload.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils.text import get_valid_filename

from sam.importing import ImportFileError, Kind, check_size, import_file, load_kinds, read_table
from sam.jobs import job_create, job_fail, job_finish, job_progress, job_running
from sam.models import Job, Tenant

IMPORT_JOB = "import"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
PREVIEW_ROWS = 10


def _upload_root(tenant: Tenant) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(tenant.pk)


def upload_store(*, tenant: Tenant, filename: str, data: bytes | None = None, chunks: Iterable[bytes] = (),
                 size: int | None = None, kind: str = "") -> str:
    """Write an uploaded file under MEDIA_ROOT and return its token.

    The size is checked first (``size``, as the upload declares it), then the file is streamed to
    disk chunk by chunk and counted again, so nothing bigger than the limit is ever held or kept.
    """
    if data is not None:
        size, chunks = len(data), [data]
    if size is not None:
        check_size(size, kind)
    if size == 0:
        raise ImportFileError("The file is empty.")
    token = secrets.token_hex(16)
    folder = _upload_root(tenant) / token
    folder.mkdir(parents=True, exist_ok=True)
    name = get_valid_filename(Path(filename or "upload").name)[-120:] or "upload"
    written = 0
    try:
        with (folder / name).open("wb") as fh:
            for chunk in chunks:
                written += len(chunk)
                check_size(written, kind)
                fh.write(chunk)
        if written == 0:
            raise ImportFileError("The file is empty.")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return token


def upload_path(*, tenant: Tenant, token: str) -> Path:
    """The stored file of a token, or ImportFileError when the token is unknown (or malformed)."""
    if not _TOKEN.match(token or ""):
        raise ImportFileError("The upload is unknown or has expired; upload the file again.")
    folder = _upload_root(tenant) / token
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    if not files:
        raise ImportFileError("The upload is unknown or has expired; upload the file again.")
    return files[0]


def upload_discard(*, tenant: Tenant, token: str) -> None:
    if _TOKEN.match(token or ""):
        shutil.rmtree(_upload_root(tenant) / token, ignore_errors=True)


def upload_preview(*, tenant: Tenant, token: str, kind: Kind, mapping: dict[str, str] | None = None) -> dict:
    """The detected mapping (file header -> canonical column), unknown headers, missing required
    columns and the first rows, as the import page shows them before the run."""
    path = upload_path(tenant=tenant, token=token)
    # Only the first rows are parsed here (the web request); the whole file is parsed by the job.
    table = read_table(path, kind=kind.name, filename=path.name, max_rows=PREVIEW_ROWS)
    detected, unknown = kind.header_map(table.header)
    chosen = dict(mapping or {})
    columns = []
    used = set(detected.values())
    for index, header in enumerate(table.header):
        canonical = detected.get(index, "")
        manual = chosen.get(header, "") if not canonical else ""
        if manual:
            used.add(manual)
        columns.append({"index": index, "header": header, "canonical": canonical, "manual": manual})
    missing = [c for c in kind.required if c not in used]
    return {
        "filename": path.name,
        "sheet": table.sheet,
        "columns": columns,
        "unknown": [u for u in unknown if u not in chosen],
        "missing": missing,
        "rows": [row + [""] * (len(table.header) - len(row)) for row in table.rows[:PREVIEW_ROWS]],
        "row_count": len(table.rows[:PREVIEW_ROWS]),
        "more_rows": len(table.rows) > PREVIEW_ROWS,
        "size": path.stat().st_size,
    }


def import_job_start(*, tenant: Tenant, kind: str, token: str, actor=None, mapping: dict[str, str] | None = None,
                     as_of: dt.date | None = None) -> Job:
    """Queue the import of an uploaded file as a job: a worker runs it, or it runs inline without one."""
    path = upload_path(tenant=tenant, token=token)
    if kind not in load_kinds():
        raise ImportFileError(f"Unknown kind {kind!r}.")
    params = {"kind": kind, "token": token, "filename": path.name, "mapping": mapping or {},
              "as_of": as_of.isoformat() if as_of else None}
    job = job_create(tenant=tenant, kind=IMPORT_JOB, params=params, user=actor if hasattr(actor, "pk") else None,
                     message=f"{kind}: {path.name}")
    if settings.CELERY_TASK_ALWAYS_EAGER:
        import_job_run(job=job)
        job.refresh_from_db()
    else:
        from sam.tasks import import_task

        transaction.on_commit(lambda: import_task.delay(tenant.pk, job.pk))
    return job


def import_job_run(*, job: Job) -> dict:
    """Run a queued import job (inside the tenant's scope). Idempotent: a claimed job is skipped."""
    from sam.jobs import job_claim

    if not job_claim(job_id=job.pk):
        return {}
    job.refresh_from_db()
    tenant = job.tenant
    params = job.params
    as_of = dt.date.fromisoformat(params["as_of"]) if params.get("as_of") else None
    try:
        with job_running(job=job):
            try:
                path = upload_path(tenant=tenant, token=params["token"])
                job_progress(job=job, progress=5, message=f"Reading {path.name}")
                # Master kinds from the browser always write this tenant's amendments (tenant=...).
                result = import_file(kind=params["kind"], source=path, tenant=tenant, as_of=as_of,
                                     actor=job.created_by or "import", filename=path.name, job=job,
                                     mapping=params.get("mapping") or None)
            except ImportFileError as exc:
                # Unreadable file: the job fails with the reason, nothing was written.
                out = {"kind": params["kind"], "file_error": str(exc), "summary": str(exc)}
                job.result = out
                Job.objects.filter(pk=job.pk).update(result=out, progress=100)
                job_fail(job=job, error=str(exc))
                return out
            out = {**result.as_dict(), "summary": result.summary()}
            job_finish(job=job, result=out, message=f"{params['kind']}: {params.get('filename', '')}")
            return out
    finally:
        upload_discard(tenant=tenant, token=params.get("token", ""))
