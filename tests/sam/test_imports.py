"""The generic import page: kind, upload, detected mapping, manual mapping, preview, job, outcome."""
from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from sam import importing
from sam.importing import ImportResult, register_kind
from sam.models import AuditEvent, Job, JobState

pytestmark = pytest.mark.django_db


@pytest.fixture
def notes_kind(settings, tmp_path):
    """A tiny tenant kind writing audit notes, registered for the test only."""
    settings.MEDIA_ROOT = tmp_path / "media"
    seen = {}

    @register_kind("test_notes", columns={"code": ("id", "number"), "text": ("note", "comment"), "extra": ()},
                   required=("code",))
    def importer(*, tenant, rows, as_of, actor, job, profile, source, filename):
        seen["job"] = job
        seen["source"] = source
        result = ImportResult(kind="test_notes")
        for row_no, values in rows:
            result.read += 1
            if not values["code"].isdigit():
                result.reject(row_no, "code.invalid", "not a number", "code")
                continue
            AuditEvent.objects.create(tenant=tenant, action="test.note", object_id=values["code"],
                                      note=values.get("text", "") + "|" + values.get("extra", ""))
            result.created += 1
        result.extra["affects_engine"] = False
        return result

    yield seen
    importing.KINDS.pop("test_notes", None)


def _url(tenant):
    return reverse("imports", kwargs={"tenant": tenant.slug})


def _upload(client, tenant, content: bytes, name="notes.csv", kind="test_notes"):
    return client.post(_url(tenant), {"action": "upload", "kind": kind,
                                      "file": SimpleUploadedFile(name, content, content_type="text/csv")})


def _token(response) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', response.content.decode())[1]


def test_upload_shows_the_detected_mapping_unknown_columns_and_a_preview(client, cast, tenant_a, notes_kind,
                                                                         settings):
    client.force_login(cast["license_manager"])
    rows = "".join(f"{i};row {i};x\n" for i in range(1, 16))
    response = _upload(client, tenant_a, f"Number;Comment;Colour\n{rows}".encode())
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(c["header"], c["canonical"]) for c in preview["columns"]] == [
        ("Number", "code"), ("Comment", "text"), ("Colour", "")]
    assert preview["unknown"] == ["Colour"]
    assert preview["more_rows"] and len(preview["rows"]) == 10  # the preview parses the first rows only
    assert preview["rows"][0] == ["1", "row 1", "x"]
    # Nothing was written yet; the file waits under MEDIA_ROOT.
    with scope(tenant=tenant_a):
        assert not AuditEvent.objects.filter(action="test.note").exists()
    token = _token(response)
    assert [p.name for p in settings.MEDIA_ROOT.glob(f"imports/*/{token}/*")] == ["notes.csv"]


def test_running_the_import_creates_a_job_and_shows_the_outcome(client, cast, tenant_a, notes_kind, settings):
    client.force_login(cast["admin"])
    token = _token(_upload(client, tenant_a, b"code,text\n1,one\nabc,bad\n2,two\n"))
    response = client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token})
    assert response.status_code == 302
    job_id = int(response["Location"].split("job=")[1])
    with scope(tenant=tenant_a):
        job = Job.objects.get(pk=job_id)
        assert job.kind == "import" and job.state == JobState.DONE and job.progress == 100
        assert job.result["created"] == 2 and job.result["rejected"] == 1
        assert job.result["errors"] == ["Row 3, code: code.invalid – not a number"]
        assert sorted(AuditEvent.objects.filter(action="test.note").values_list("object_id", flat=True)) == ["1", "2"]
    assert notes_kind["job"].pk == job_id  # the importer can report progress
    page = client.get(response["Location"]).content.decode()
    assert "Row 3, code: code.invalid" in page and "Created" in page
    # The uploaded file is gone once the job finished.
    assert not list(settings.MEDIA_ROOT.glob(f"imports/*/{token}"))


def test_unmapped_headers_can_be_mapped_by_hand(client, cast, tenant_a, notes_kind):
    client.force_login(cast["admin"])
    response = _upload(client, tenant_a, b"code\tShade\n7\tblue\n")
    token = _token(response)
    shade = next(c for c in response.context["preview"]["columns"] if c["header"] == "Shade")
    remapped = client.post(_url(tenant_a), {"action": "remap", "kind": "test_notes", "token": token,
                                             f"map-{shade['index']}": "extra"})
    assert remapped.context["mapping"] == {"Shade": "extra"}
    assert remapped.context["preview"]["unknown"] == []
    client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token,
                                 f"map-{shade['index']}": "extra"})
    with scope(tenant=tenant_a):
        assert AuditEvent.objects.get(action="test.note").note == "|blue"


def test_a_missing_required_column_blocks_the_run_until_mapped(client, cast, tenant_a, notes_kind):
    client.force_login(cast["admin"])
    response = _upload(client, tenant_a, b"Ident,text\n5,five\n")
    assert response.context["preview"]["missing"] == ["code"]
    token = _token(response)
    blocked = client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token})
    assert blocked.status_code == 200 and blocked.context["preview"]["missing"] == ["code"]
    with scope(tenant=tenant_a):
        assert not Job.objects.filter(kind="import").exists()
    ran = client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token, "map-0": "code"})
    assert ran.status_code == 302


def test_xlsx_uploads_are_read(client, cast, tenant_a, notes_kind):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["code", "note"])
    wb.active.append([42, "from excel"])
    buffer = io.BytesIO()
    wb.save(buffer)
    client.force_login(cast["admin"])
    response = _upload(client, tenant_a, buffer.getvalue(), name="notes.xlsx")
    assert response.context["preview"]["rows"] == [["42", "from excel"]]


def test_an_unreadable_file_is_reported_and_nothing_is_kept(client, cast, tenant_a, notes_kind, settings):
    client.force_login(cast["admin"])
    response = _upload(client, tenant_a, b"\x00\x01binary\x00garbage", name="x.csv")
    assert response.status_code == 400
    assert "binary" in response.content.decode()
    assert not list(settings.MEDIA_ROOT.glob("imports/*/*"))


def test_a_forged_or_foreign_token_is_refused(client, cast, tenant_a, tenant_b, notes_kind):
    client.force_login(cast["admin"])
    for token in ("../../etc", "0" * 32):
        response = client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token})
        assert response.status_code == 400


def test_the_kind_list_comes_from_the_registry(client, cast, tenant_a, notes_kind):
    client.force_login(cast["admin"])
    names = [k.name for k in client.get(_url(tenant_a)).context["kinds"]]
    assert "test_notes" in names


def test_a_job_of_another_tenant_is_not_shown(client, cast, tenant_a, tenant_b):
    from sam.jobs import job_create

    with scope(tenant=tenant_b):
        foreign = job_create(tenant=tenant_b, kind="import")
    client.force_login(cast["admin"])
    assert client.get(f"{_url(tenant_a)}?job={foreign.pk}").status_code == 404


def test_the_job_partial_polls_until_finished(client, cast, tenant_a):
    from sam.jobs import job_create, job_finish

    with scope(tenant=tenant_a):
        job = job_create(tenant=tenant_a, kind="recompute")
    client.force_login(cast["auditor"])
    url = reverse("job", kwargs={"tenant": tenant_a.slug, "pk": job.pk})
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "<html" not in partial
    with scope(tenant=tenant_a):
        job_finish(job=job, result={"summary": "all done"})
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and "all done" in partial


def test_the_import_task_runs_the_job_inside_the_tenant_scope(tenant_a, notes_kind, cast):
    from sam.jobs import job_create
    from sam.tasks import import_task
    from sam.uploads import upload_store

    with scope(tenant=tenant_a):
        token = upload_store(tenant=tenant_a, filename="n.csv", data=b"code\n9\n")
        job = job_create(tenant=tenant_a, kind="import",
                         params={"kind": "test_notes", "token": token, "filename": "n.csv", "mapping": {}})
    result = import_task.run(tenant_a.pk, job.pk)  # outside any scope, as in a worker
    assert result["created"] == 1


def test_with_a_broker_the_import_is_queued_for_a_worker(client, cast, tenant_a, notes_kind, settings, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    from sam import tasks

    sent = []
    monkeypatch.setattr(tasks.import_task, "delay", lambda *args: sent.append(args))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client.force_login(cast["admin"])
    token = _token(_upload(client, tenant_a, b"code\n1\n"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(tenant_a), {"action": "run", "kind": "test_notes", "token": token})
    job_id = int(response["Location"].split("job=")[1])
    assert sent == [(tenant_a.pk, job_id)]
    with scope(tenant=tenant_a):
        assert Job.objects.get(pk=job_id).state == JobState.QUEUED
    # The page polls the job's partial until a worker finishes it.
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page
    # The file stays under MEDIA_ROOT until the worker has run.
    assert list(settings.MEDIA_ROOT.glob(f"imports/*/{token}/*"))
