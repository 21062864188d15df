"""M4 of the security review (issue 14): uploads were read whole into memory before the size check,
parsed whole in the web request for the preview, without a row, column or cell cap, and the XLSX
expansion guard only looked at workbooks above 50 MB. Each test fails on b7f100c.
"""
from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sam.importing import ImportFileError, import_file, read_table
from sam.models import Role
from sam.uploads import upload_preview, upload_store

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_the_size_is_checked_before_a_byte_of_the_upload_is_read(tenant_a, media, settings):
    settings.SAM_MAX_UPLOAD_BYTES = 1000
    consumed = []

    def chunks():
        consumed.append(1)
        yield b"x" * 5000

    with pytest.raises(ImportFileError, match="accepted up to"):
        upload_store(tenant=tenant_a, filename="big.csv", chunks=chunks(), size=5000)
    assert consumed == []
    assert not (media / "imports").exists() or not any((media / "imports").rglob("*.csv"))


def test_an_upload_that_lies_about_its_size_is_stopped_while_streaming(tenant_a, media, settings):
    settings.SAM_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ImportFileError):
        upload_store(tenant=tenant_a, filename="big.csv", chunks=iter([b"a" * 600, b"b" * 600]), size=10)
    assert not any((media / "imports").rglob("*.csv"))  # the partial file is removed


def test_a_request_declaring_more_than_the_limit_is_refused_unread(client, cast, tenant_a, media, settings):
    settings.SAM_MAX_UPLOAD_BYTES = 1000
    client.force_login(cast[Role.ADMIN])
    response = client.post(reverse("imports", kwargs={"tenant": tenant_a.slug}),
                           {"action": "upload", "kind": "persons",
                            "file": SimpleUploadedFile("p.csv", b"username\n" + b"u\n" * 2_000_000)})
    assert response.status_code == 413
    assert not (media / "imports").exists() or not any((media / "imports").rglob("*"))


def test_rows_and_columns_are_capped_while_parsing(settings):
    settings.SAM_MAX_IMPORT_ROWS = 100
    with pytest.raises(ImportFileError, match="more than 100 rows"):
        read_table(b"name\n" + b"pc\n" * 150, kind="devices")
    settings.SAM_MAX_IMPORT_COLUMNS = 50
    with pytest.raises(ImportFileError, match="more than 50 columns"):
        read_table(",".join(f"c{i}" for i in range(60)).encode() + b"\n", kind="devices")


def test_an_oversized_cell_rejects_its_row_with_a_reason_and_the_others_are_written(tenant_a, settings):
    from django_scopes import scope

    from inventory.models import CostCenter

    settings.SAM_MAX_CELL_CHARS = 1000
    data = ("code,name\nCC-1,Finance\nCC-2," + "N" * 5000 + "\nCC-3,Sales\n").encode()
    with scope(tenant=tenant_a):
        result = import_file(kind="cost_centers", source=data, tenant=tenant_a, filename="cc.csv", recompute=False)
        assert (result.read, result.created, result.rejected) == (3, 2, 1)
        assert result.errors == ["Row 3, name: value.too_long – 5,000 characters; at most 1,000 per cell"]
        assert set(CostCenter.objects.values_list("code", flat=True)) == {"CC-1", "CC-3"}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_the_xlsx_expansion_guard_applies_to_small_files_too():
    # 8 MB of XML compresses to a few KB: a ratio far above 100 in a file far below 50 MB.
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": b" " * (8 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with pytest.raises(ImportFileError, match="implausible size"):
        read_table(bomb, kind="devices", filename="bomb.xlsx")


def test_a_sheet_with_a_cell_far_to_the_right_is_refused_not_expanded(settings):
    from openpyxl import Workbook

    settings.SAM_MAX_IMPORT_COLUMNS = 200
    wb = Workbook()
    ws = wb.active
    ws.append(["name", "kind"])
    ws.append(["pc-1", "physical"])
    ws.cell(row=2, column=16384, value="far away")  # column XFD: every row would be padded to it
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(ImportFileError, match="more than 200 columns"):
        read_table(buffer.getvalue(), kind="devices", filename="wide.xlsx")


def test_the_preview_parses_only_the_first_rows(tenant_a, media):
    from sam.importing import load_kinds

    # A valid start, then a line the CSV reader refuses (a cell above its field limit) far below it.
    body = b"username,email\n" + b"".join(b"user%d,u%d@example.com\n" % (i, i) for i in range(20_000))
    body += b"broken," + b"x" * 300_000 + b"\n"
    token = upload_store(tenant=tenant_a, filename="persons.csv", data=body, kind="persons")
    preview = upload_preview(tenant=tenant_a, token=token, kind=load_kinds()["persons"])
    assert preview["rows"][0] == ["user0", "u0@example.com"] and len(preview["rows"]) == 10
    assert preview["more_rows"]
    # The whole file is parsed by the job, which reports what the preview never read.
    with pytest.raises(ImportFileError, match="not valid CSV"):
        read_table(body, kind="persons")
