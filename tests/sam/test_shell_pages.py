"""The dashboard, the audit log viewer and the tenant switcher."""
from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django_scopes import scope

from sam.audit import audit_record
from sam.jobs import job_create
from sam.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_key_figures_and_recent_jobs(client, cast, tenant_a, tenant_b):
    with scope(tenant=tenant_a):
        job_create(tenant=tenant_a, kind="recompute", message="waiting for a worker")
    with scope(tenant=tenant_b):
        job_create(tenant=tenant_b, kind="foreign-job")
    client.force_login(cast["license_manager"])
    response = client.get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}))
    assert response.status_code == 200
    labels = [k["label"] for k in response.context["panels"]["kpis"]]
    assert "Background work" in labels and "Changes" in labels
    body = response.content.decode()
    assert "waiting for a worker" in body and "foreign-job" not in body
    assert "<progress" in body  # the unfinished job shows its progress


def test_clearing_staff_do_not_see_the_audit_figure(client, cast, tenant_a):
    client.force_login(cast["clearing"])
    response = client.get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}))
    assert "Changes" not in [k["label"] for k in response.context["panels"]["kpis"]]


def test_the_dashboard_query_count_is_bounded(client, cast, tenant_a, django_assert_max_num_queries):
    client.force_login(cast["admin"])
    with scope(tenant=tenant_a):
        for i in range(10):
            job_create(tenant=tenant_a, kind=f"k{i}", user=cast["admin"])
    with django_assert_max_num_queries(25):
        client.get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}))


@pytest.fixture
def trail(tenant_a, tenant_b, cast):
    with scope(tenant=tenant_a):
        old = audit_record(tenant=tenant_a, actor=cast["admin"], action="entitlements.license.published",
                           object_type="entitlements.entitlement", object_id="7", object_repr="Office 2024",
                           before={"status": "draft", "quantity": "5"}, after={"status": "published", "quantity": "5"})
        AuditEvent.objects.filter(pk=old.pk).update(at=dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC))
        audit_record(tenant=tenant_a, actor="import_data", action="inventory.device.created",
                     object_type="inventory.device", object_id="70", object_repr="PC-070", after={"name": "PC-070"})
    with scope(tenant=tenant_b):
        audit_record(tenant=tenant_b, actor="x", action="entitlements.license.published", object_repr="Foreign")


def _audit(client, tenant, query=""):
    return client.get(reverse("audit", kwargs={"tenant": tenant.slug}) + ("?" + query if query else ""))


def test_the_audit_log_shows_the_diff_of_each_change(client, cast, tenant_a, trail):
    client.force_login(cast["auditor"])
    body = _audit(client, tenant_a).content.decode()
    assert "<del>draft</del>" in body and "<ins>published</ins>" in body
    assert "quantity" not in body  # unchanged fields are not listed
    assert "Foreign" not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=published", ["Office 2024"]),
        ("object_type=inventory.device&object_id=70", ["PC-070"]),
        ("object_id=7", ["Office 2024"]),  # exact: 70 is not 7
        ("actor_label=import", ["PC-070"]),
        ("date_to=2026-01-31", ["Office 2024"]),
        ("date_from=2026-02-01", ["PC-070"]),
        ("date_from=not-a-date", ["PC-070", "Office 2024"]),
    ],
)
def test_the_audit_log_filters(client, cast, tenant_a, trail, query, expected):
    client.force_login(cast["auditor"])
    page = _audit(client, tenant_a, query).context["page"]
    assert [e.object_repr for e in page] == expected


def test_the_audit_log_exports_tsv_with_one_row_per_changed_field(client, cast, tenant_a, trail):
    client.force_login(cast["auditor"])
    response = _audit(client, tenant_a, "action=published&page=2&export=tsv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].split("\t") == ["at", "actor", "action", "object_type", "object_id", "object", "field",
                                    "before", "after", "note"]
    assert len(lines) == 2
    assert lines[1].split("\t")[6:9] == ["status", "draft", "published"]


def test_the_audit_log_htmx_refresh_returns_the_results_only(client, cast, tenant_a, trail):
    client.force_login(cast["auditor"])
    body = client.get(reverse("audit", kwargs={"tenant": tenant_a.slug}) + "?action=device",
                      HTTP_HX_REQUEST="true").content.decode()
    assert body.lstrip().startswith('<div id="audit-results"') and "PC-070" in body


def test_the_tenant_switcher_goes_to_a_tenant_the_user_belongs_to(client, cast, tenant_a, tenant_b):
    client.force_login(cast["admin"])
    assert client.get(reverse("home") + f"?t={tenant_a.slug}")["Location"] == f"/t/{tenant_a.slug}/"
    # Not a member of B: no redirect there.
    response = client.get(reverse("home") + f"?t={tenant_b.slug}")
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert tenant_b.slug not in response["Location"]
