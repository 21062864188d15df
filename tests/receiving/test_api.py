"""The push API: token authentication, tenant isolation, idempotent pushes, the OpenAPI schema."""
from __future__ import annotations

import json

import pytest
from django.test import override_settings
from django.urls import include, path
from django_scopes import scope

from entitlements.models import Entitlement
from receiving.models import ApiToken, BatchSource, ImportBatch, PurchaseLine
from receiving.services import api_token_create, api_token_revoke
from tests.receiving.conftest import line

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(org):
    with scope(tenant=org):
        _token, raw = api_token_create(tenant=org, actor="test", name="ERP")
    return raw


def push(client, raw, payload, slug="tenant-a"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.post(f"/api/t/{slug}/receiving/lines/", data=json.dumps(payload), content_type="application/json",
                       **headers)


def test_a_push_stages_validates_and_transfers(client, token, org):
    payload = {"reference": "ERP export 7", "lines": [line(), line(po_line="2", sku="ZZ-000"),
                                                      {**line(po_line="3"), "quantity": 2}]}
    response = push(client, token, payload)
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["transferred"], body["waiting"]) == (3, 2, 1)
    assert [o["status"] for o in body["lines"]] == ["transferred", "waiting", "transferred"]
    assert body["lines"][1]["reasons"][0]["code"] == "sku.unknown"
    with scope(tenant=org):
        batch = ImportBatch.objects.get()
        assert (batch.source, batch.filename, batch.actor_label) == (BatchSource.API, "ERP export 7", "api:ERP")
        assert Entitlement.objects.count() == 2
        assert PurchaseLine.objects.get(po_line="3").raw["quantity"] == "2"


def test_pushing_the_same_lines_again_changes_nothing(client, token, org):
    payload = {"lines": [line(), line(po_line="2", sku="ZZ-000")]}
    assert push(client, token, payload).status_code == 201
    again = push(client, token, payload)
    assert again.status_code == 200 and again.json()["skipped"] == 2 and again.json()["created"] == 0
    with scope(tenant=org):
        assert PurchaseLine.objects.count() == 2 and Entitlement.objects.count() == 1


def test_synonyms_are_accepted_as_keys(client, token, org):
    response = push(client, token, {"lines": [{"Part Number": "CD-24P", "Qty": "1", "PO Number": "PO-9", "PO Line": 1,
                                               "Order Date": "2026-02-01", "Reseller": "X"}]})
    assert response.json()["transferred"] == 1


def test_a_wrong_or_missing_token_is_401(client, token, org):
    assert push(client, None, {"lines": [line()]}).status_code == 401
    response = push(client, "samr_wrong", {"lines": [line()]})
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert push(client, token[:-1] + ("A" if token[-1] != "A" else "B"), {"lines": [line()]}).status_code == 401
    with scope(tenant=org):
        assert not PurchaseLine.objects.exists()


def test_a_revoked_token_is_401(client, token, org):
    with scope(tenant=org):
        api_token_revoke(token=ApiToken.objects.get(), actor="test")
    assert push(client, token, {"lines": [line()]}).status_code == 401


def test_a_token_on_another_tenants_url_is_404(client, token, org, tenant_b):
    assert push(client, token, {"lines": [line()]}, slug="tenant-b").status_code == 404
    assert push(client, token, {"lines": [line()]}, slug="no-such-tenant").status_code == 404
    with scope(tenant=tenant_b):
        assert not PurchaseLine.objects.exists()
    with scope(tenant=org):
        assert not PurchaseLine.objects.exists()


def test_the_token_is_stored_only_as_a_hash(token, org):
    with scope(tenant=org):
        stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.prefix) and stored.digest != token
    assert token.startswith(stored.prefix)


def test_malformed_requests_are_400_and_write_nothing(client, token, org):
    assert client.post("/api/t/tenant-a/receiving/lines/", data="{nope", content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 400
    assert push(client, token, {"lines": []}).status_code == 400
    assert push(client, token, {"lines": [line(), "text"]}).status_code == 400
    assert push(client, token, {"lines": [{**line(), "sku": {"nested": 1}}]}).status_code == 400
    with scope(tenant=org):
        assert not PurchaseLine.objects.exists()


def test_the_api_needs_no_csrf_token_and_only_posts(client, token):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert push(strict, token, {"lines": [line()]}).status_code == 201
    assert client.get("/api/t/tenant-a/receiving/lines/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405


def test_line_status_can_be_read_back_but_not_across_tenants(client, token, org, tenant_b):
    body = push(client, token, {"lines": [line(sku="ZZ-1")]}).json()
    line_id = body["lines"][0]["id"]
    got = client.get(f"/api/t/tenant-a/receiving/lines/{line_id}/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert got.status_code == 200 and got.json()["status"] == "waiting"
    with scope(tenant=tenant_b):
        _t, other = api_token_create(tenant=tenant_b, actor="test", name="B")
    assert client.get(f"/api/t/tenant-b/receiving/lines/{line_id}/", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404


def test_the_openapi_schema_is_served_to_token_holders_and_members(client, token, cast):
    assert client.get("/api/schema/receiving.json").status_code == 401
    assert client.get("/api/schema/receiving.json", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    client.force_login(cast["clearing"])
    schema = client.get("/api/schema/receiving.json").json()
    assert schema["openapi"].startswith("3.")
    post = schema["paths"]["/api/t/{tenant}/receiving/lines/"]["post"]
    assert {"201", "401", "404"} <= set(post["responses"])
    assert "sku.unknown" in schema["components"]["schemas"]["Issue"]["properties"]["code"]["enum"]


urlpatterns = [path("", include("sam.urls")), path("", include("receiving.account_urls"))]


@override_settings(ROOT_URLCONF="tests.receiving.test_api")
def test_my_queues_lists_only_tenants_where_the_user_clears(client, org, tenant_b, cast):
    from sam.models import Membership, Role
    from tests.factories import TenantFactory
    from tests.receiving.conftest import receive

    third = TenantFactory(slug="tenant-c", name="Tenant C")
    clerk = cast["clearing"]
    Membership.objects.create(user=clerk, tenant=third, role=Role.CLEARING)
    receive(org, [line(sku="ZZ-1"), line(po_line="2", cost_center="C9"), line(po_line="3", sku="ZZ-2")])
    receive(tenant_b, [line(sku="ZZ-B")])  # the clerk is not a member of B
    client.force_login(clerk)
    response = client.get("/receiving/my-queues/")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-tenant="tenant-a"' in body and 'data-tenant="tenant-c"' in body
    assert 'data-tenant="tenant-b"' not in body
    assert "sku.unknown 2" in body and "cost_center.unknown 1" in body
