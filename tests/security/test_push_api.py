"""The push API findings of issue 14 (fuzzed with schemathesis and probed by hand on b7f100c):
values were read loosely ("1,5" -> 15, "1e3" -> 1000, Arabic-Indic digits, a date with trailing
markup, fractional quantities of per-device SKUs, PO lines "1"/"1.0"/"01" as three lines), some
bodies gave a 500 (year 9999, lone surrogate, NUL, deep nesting) and every 500 left a batch behind,
lines without sku or quantity were accepted, and ``{"lines": []}`` was schema-valid but refused.
Each test fails on b7f100c.
"""
from __future__ import annotations

import json

import pytest
from django.test import Client
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.api import openapi_schema
from receiving.models import ImportBatch, PurchaseLine
from receiving.services import api_token_create
from tests.receiving.conftest import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(org):
    with scope(tenant=org):
        _token, raw = api_token_create(tenant=org, actor="test", name="ERP")
    return raw


def push_raw(client, raw_token, body: str | bytes):
    return client.post("/api/t/tenant-a/receiving/lines/", data=body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {raw_token}")


def push(client, raw_token, payload):
    return push_raw(client, raw_token, json.dumps(payload))


def nothing_written(org) -> bool:
    with scope(tenant=org):
        return not ImportBatch.objects.exists() and not PurchaseLine.objects.exists() \
            and not Entitlement.objects.exists()


@pytest.mark.parametrize("quantity", ["1,5", "1e3", "\u0661\u0662", "1.5.0", "+1", " ", "0", "-2", "0x10", "NaN",
                                      "Infinity", "１２"])
def test_a_quantity_is_read_strictly_or_refused(client, token, org, quantity):
    response = push(client, token, {"lines": [line(quantity=quantity)]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] in ("request.quantity", "request.required") and body["index"] == 0
    assert nothing_written(org)


def test_a_fractional_quantity_of_a_per_device_sku_is_refused(client, token, org):
    response = push(client, token, {"lines": [line(po_line="1"), line(po_line="2", quantity="1.5")]})
    assert response.status_code == 400
    assert response.json()["index"] == 1 and "per device" in response.json()["message"]
    assert nothing_written(org)  # the good first line was not applied either


@pytest.mark.parametrize("value", ["2026-02-01<script>alert(1)</script>", "2026-02-01x", "9999-12-31", "0001-01-01",
                                   "2026-13-01", "01.02.2026", "2026-02-01T10:00:00"])
def test_dates_are_strict_iso_within_range(client, token, org, value):
    response = push(client, token, {"lines": [line(order_date=value)]})
    assert response.status_code == 400 and response.json()["error"] == "request.date"
    response = push(client, token, {"lines": [line(start_date=value)]})
    assert response.status_code == 400
    assert nothing_written(org)


def test_po_lines_1_1_0_and_01_are_the_same_line(client, token, org):
    response = push(client, token, {"lines": [line(po_line=1), line(po_line="1.0"), line(po_line="01")]})
    assert response.status_code == 201
    with scope(tenant=org):
        # one entitlement for PO-1 line 1; the two repeats wait as duplicates
        assert Entitlement.objects.count() == 1
        assert sorted(PurchaseLine.objects.values_list("po_line", flat=True)) == ["1", "1", "1"]
        assert PurchaseLine.objects.filter(reasons__icontains="duplicate.po_line").count() == 2


@pytest.mark.parametrize("body", [
    '{"lines": [{"sku": "CD-24P", "quantity": "1", "description": "\\ud800"}]}',  # a lone surrogate
    '{"lines": [{"sku": "CD-24P", "quantity": "1", "description": "a\\u0000b"}]}',  # a NUL
    '{"lines": ' + "[" * 50_000 + "]" * 50_000 + "}",  # deep nesting
    '{"lines": [{"sku": "CD-24P", "quantity": "1", "x": [[[[[1]]]]]}]}',
    '{"lines": [{"sku": "CD-24P", "quantity": NaN}]}',
    '{"lines": [{"quantity": "1"}]}',  # no sku
    '{"lines": [{"sku": "CD-24P"}]}',  # no quantity
    '{"lines": [{"sku": "", "quantity": "1"}]}',
    '{"lines": []}',
    '{"lines": {}}',
    "[]",
    "",
])
def test_hostile_bodies_get_a_clear_400_and_nothing_is_written(org, token, body):
    client = Client(raise_request_exception=False)
    response = push_raw(client, token, body.encode("utf-8", "surrogatepass"))
    assert response.status_code == 400, response.content
    assert set(response.json()) >= {"error", "message"}
    assert b"Traceback" not in response.content
    assert nothing_written(org)


def test_the_schema_requires_what_the_server_requires():
    schema = openapi_schema()
    assert schema["openapi"] == "3.1.0"
    body = schema["paths"]["/api/t/{tenant}/receiving/lines/"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["lines"]["minItems"] == 1
    assert schema["components"]["schemas"]["Line"]["required"] == ["sku", "quantity"]


def test_a_failure_midway_leaves_no_batch_and_no_line_behind(org, token, monkeypatch):
    """A request is applied whole or not at all: an error in the second chunk rolls the first back."""
    import receiving.services as services

    calls = []
    real = services.check_lines

    def failing(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("injected fault in the second chunk")
        return real(**kwargs)

    monkeypatch.setattr(services, "check_lines", failing)
    monkeypatch.setattr(services, "iter_chunks", lambda items, size: ([i] for i in items))
    client = Client(raise_request_exception=False)
    response = push(client, token, {"lines": [line(po_line="1"), line(po_line="2")]})
    assert response.status_code == 500 and len(calls) == 2
    assert nothing_written(org)
