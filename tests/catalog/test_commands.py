from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from catalog.demo import DEMO_SKUS, MASTER_DIR
from catalog.models import LicenseModel, Sku

pytestmark = pytest.mark.django_db


def test_import_data_without_tenant_writes_the_master_and_export_data_reads_it_back(tenant_a, tmp_path):
    out = StringIO()
    call_command("import_data", "license_models", str(MASTER_DIR / "license_models.csv"), stdout=out)
    call_command("import_data", "catalog", str(MASTER_DIR / "catalog.csv"), stdout=out)
    call_command("import_data", "catalog", str(DEMO_SKUS), stdout=out)
    summaries = [line for line in out.getvalue().splitlines() if "rejected" in line]
    assert len(summaries) == 3 and all(" 0 rejected" in line for line in summaries)
    assert LicenseModel.objects.filter(name="Windows Server Per Core").exists()
    assert Sku.objects.get(part_number="9EM-00652").units == 16
    target = tmp_path / "catalog.tsv"
    call_command("export_data", "catalog", "--tenant", tenant_a.slug, "--output", str(target), stderr=StringIO())
    lines = target.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]
    win = next(r for r in rows if r["sku"] == "9EM-00652")
    assert (win["product"], win["version"], win["edition"], win["units"], win["license_model"]) == (
        "Windows Server", "2022", "Standard", "16", "Windows Server Per Core")
    assert any(r["sku"] == "" and r["product"] == "SQL Server" and r["version"] == "2019" for r in rows)
