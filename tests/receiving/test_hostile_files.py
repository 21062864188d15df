"""A hostile-file corpus, generated here: each file gets a clear message and nothing is half-written."""
from __future__ import annotations

import codecs
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.models import ImportBatch, PurchaseLine
from sam.importing import ImportFileError, import_file
from tests.receiving.conftest import HEADER, csv_text, line

pytestmark = pytest.mark.django_db

GOOD = [line(description="Zürich Büro – Lizenz"), line(po_line="2", sku="ZZ-000", description="Straße")]


def run(tenant, tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    with scope(tenant=tenant):
        return import_file(kind="procurement", source=str(path), tenant=tenant, actor="test")


def nothing_written(tenant) -> bool:
    with scope(tenant=tenant):
        return not (ImportBatch.objects.exists() or PurchaseLine.objects.exists() or Entitlement.objects.exists())


def descriptions(tenant) -> list[str]:
    with scope(tenant=tenant):
        return list(PurchaseLine.objects.order_by("id").values_list("description", flat=True))


# --- encodings ---------------------------------------------------------------------------------

def test_utf8_with_bom(org, tmp_path):
    result = run(org, tmp_path, "bom.csv", codecs.BOM_UTF8 + csv_text(GOOD).encode("utf-8"))
    assert (result.created, result.waiting) == (2, 1)
    assert descriptions(org) == ["Zürich Büro – Lizenz", "Straße"]
    with scope(tenant=org):
        assert "sku" in PurchaseLine.objects.first().raw  # the BOM did not stick to the first header


def test_latin1(org, tmp_path):
    lines = [line(description="Zürich Büro"), line(po_line="2", description="Straße")]
    result = run(org, tmp_path, "latin1.csv", csv_text(lines, sep=";").encode("latin-1"))
    assert result.created == 2
    assert descriptions(org) == ["Zürich Büro", "Straße"]


def test_utf16_tab_separated_from_excel(org, tmp_path):
    text = csv_text(GOOD, sep="\t").replace("\n", "\r\n")
    result = run(org, tmp_path, "unicode.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert (result.created, result.transferred if hasattr(result, "transferred") else result.extra["transferred"]) == (2, 1)
    assert descriptions(org)[0] == "Zürich Büro – Lizenz"


# --- empty and odd shapes ----------------------------------------------------------------------

@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n\n  \n", "empty"),
    ("header.csv", (",".join(HEADER) + "\n").encode(), "header row but no purchase lines"),
    ("binary.csv", b"sku,quantity\n\x00\x01\x02\x00\x00garbage" * 10, "binary"),
    ("nocolumns.csv", b"foo,bar\n1,2\n", "no sku, quantity column"),
])
def test_unreadable_files_are_refused_with_a_clear_message(org, tmp_path, name, data, message):
    with pytest.raises(ImportFileError, match=message):
        run(org, tmp_path, name, data)
    assert nothing_written(org)


def test_a_hundred_columns(org, tmp_path):
    header = list(HEADER) + [f"extra column {i}" for i in range(100 - len(HEADER))]
    rows = [",".join(header)]
    for values in GOOD:
        rows.append(",".join([values.get(h, "") for h in HEADER] + [f"x{i}" for i in range(100 - len(HEADER))]))
    result = run(org, tmp_path, "wide.csv", ("\n".join(rows) + "\n").encode())
    assert len(header) == 100
    assert result.created == 2
    assert "extra column 0" in result.unknown_columns and len(result.unknown_columns) == 100 - len(HEADER)


def test_embedded_newlines_and_quotes(org, tmp_path):
    text = (",".join(HEADER) + "\n" + ",".join(
        '"Two lines\nand a ""quoted"" word, with comma"' if h == "description" else line().get(h, "") for h in HEADER) + "\n")
    result = run(org, tmp_path, "quotes.csv", text.encode())
    assert result.created == 1
    assert descriptions(org) == ['Two lines\nand a "quoted" word, with comma']
    from sam.exporting import export
    from sam.exports import iter_delimited

    with scope(tenant=org):
        data = export(what="receiving", tenant=org, as_of=None)
        tsv = "".join(iter_delimited(data.header, data.rows))
    assert tsv.count("\n") == 2  # header and one record: the newline inside the value was flattened
    assert 'Two lines and a "quoted" word, with comma' in tsv


# --- XLSX --------------------------------------------------------------------------------------

def xlsx(rows) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row))
    stream = io.BytesIO()
    wb.save(stream)
    return stream.getvalue()


def test_formulas_in_xlsx_are_kept_as_text_and_never_evaluated(org, tmp_path):
    data = xlsx([HEADER, [("=HYPERLINK(\"http://evil\",\"CD-24P\")" if h == "sku" else
                           "=2*3" if h == "quantity" else "=1+1" if h == "description" else line().get(h, ""))
                          for h in HEADER],
                 [line(po_line="2").get(h, "") for h in HEADER]])
    result = run(org, tmp_path, "formulas.xlsx", data)
    assert result.created == 2
    with scope(tenant=org):
        first = PurchaseLine.objects.order_by("id").first()
        assert first.raw["quantity"] == "=2*3" and first.raw["description"] == "=1+1"
        assert first.status == "waiting"  # "=2*3" is not a quantity of 6
        assert {"syntax.number", "sku.unknown"} <= {r["code"] for r in first.reasons}
        assert Entitlement.objects.count() == 1
        from sam.exporting import export
        from sam.exports import iter_delimited

        data = export(what="receiving", tenant=org, as_of=None)
        tsv = "".join(iter_delimited(data.header, data.rows))
    assert "\t'=1+1\t" in tsv and "\t'=2*3\t" in tsv and "'=HYPERLINK" in tsv


def test_a_zip_bomb_disguised_as_xlsx(org, tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(60):
                member.write(chunk)
    data = stream.getvalue()
    assert len(data) < 200_000
    with pytest.raises(ImportFileError, match="zip bomb"):
        run(org, tmp_path, "invoice.xlsx", data)
    assert nothing_written(org)


def test_a_zip_that_is_no_workbook(org, tmp_path):
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ImportFileError, match="not an XLSX"):
        run(org, tmp_path, "fake.xlsx", stream.getvalue())
    assert nothing_written(org)


def test_a_truncated_xlsx(org, tmp_path):
    data = xlsx([HEADER, [line().get(h, "") for h in HEADER]])
    with pytest.raises(ImportFileError):
        run(org, tmp_path, "cut.xlsx", data[: len(data) // 2])
    assert nothing_written(org)


# --- size ----------------------------------------------------------------------------------------

def test_a_50_mb_file_is_refused_above_the_limit(org, tmp_path):
    row = ",".join(line(description="x" * 200).get(h, "") for h in HEADER) + "\n"
    count = 50 * 1024 * 1024 // len(row) + 1
    data = (",".join(HEADER) + "\n" + row * count).encode()
    assert len(data) > 50 * 1024 * 1024
    with pytest.raises(ImportFileError, match=r"accepted up to 20\.0 MB"):
        run(org, tmp_path, "huge.csv", data)
    assert nothing_written(org)


def test_the_size_limit_is_configurable(org, tmp_path, settings):
    settings.RECEIVING_MAX_FILE_BYTES = 200
    with pytest.raises(ImportFileError, match="accepted up to"):
        run(org, tmp_path, "small.csv", csv_text(GOOD).encode())
    assert nothing_written(org)


def test_the_upload_refuses_a_hostile_file_before_mapping(client, cast, org):
    client.force_login(cast["admin"])
    response = client.post(reverse("receiving:upload", kwargs={"tenant": "tenant-a"}),
                           {"file": SimpleUploadedFile("empty.csv", b"")})
    assert response.status_code == 200
    assert "empty" in response.content.decode()
    response = client.post(reverse("receiving:upload", kwargs={"tenant": "tenant-a"}),
                           {"file": SimpleUploadedFile("head.csv", (",".join(HEADER) + "\n").encode())})
    assert "header row but no purchase lines" in response.content.decode()
    assert nothing_written(org)
