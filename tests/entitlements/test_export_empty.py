"""Empty dates (and other empty values) are empty in exported files, not the page's "—"."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from sam.exporting import export
from tests.entitlements.test_views import make

pytestmark = pytest.mark.django_db


def test_the_list_export_writes_empty_for_an_empty_end_date(client, cast, tenant_a):
    make(tenant_a, cast["admin"], identifier="PERPETUAL", end_date=None)
    client.force_login(cast["auditor"])
    client.post(reverse("entitlements:list", kwargs={"tenant": tenant_a.slug}),
                {"columns": ["identifier", "end_date", "contract"]})
    response = client.get(reverse("entitlements:list", kwargs={"tenant": tenant_a.slug}) + "?export=tsv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1].split("\t")[0] == "PERPETUAL"
    assert lines[1].split("\t")[1:] == ["", ""]
    assert "—" not in "".join(lines)


def test_the_export_command_writes_empty_dates(cast, tenant_a):
    from django_scopes import scope

    from sam.exports import iter_delimited

    make(tenant_a, cast["admin"], identifier="PERPETUAL", end_date=None)
    with scope(tenant=tenant_a):
        data = export(what="entitlements", tenant=tenant_a, as_of=dt.date.today())
        text = "".join(iter_delimited(data.header, data.rows, "tsv"))
    header, row = (line.split("\t") for line in text.splitlines()[:2])
    assert dict(zip(header, row, strict=True))["end_date"] == ""
    assert "—" not in text


def test_the_page_shows_money_with_currency_and_the_export_plain_numbers(client, cast, tenant_a):
    from decimal import Decimal

    make(tenant_a, cast["admin"], identifier="BIG", quantity=1500, unit_cost=Decimal("1234.5"), currency="EUR")
    client.force_login(cast["auditor"])
    list_url = reverse("entitlements:list", kwargs={"tenant": tenant_a.slug})
    client.post(list_url, {"columns": ["identifier", "quantity", "cost"]})
    page = client.get(list_url).content.decode()
    # 1,500 × 1,234.50 = 1,851,750.00
    assert "1,851,750.00 EUR" in page and ">1,500<" in page
    lines = b"".join(client.get(list_url + "?export=tsv").streaming_content).decode().splitlines()
    assert lines[1].split("\t") == ["BIG", "1500", "1851750"]  # plain numbers, no separators or currency
