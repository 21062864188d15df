"""The list framework (sam.lists.TenantListView) on a small tenant model."""
from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from sam.models import AuditEvent, TablePreference
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.sam.list_urls")]


def _event(tenant, action, *, note="", object_id="", actor=None, at=None):
    with scope(tenant=tenant):
        return AuditEvent.objects.create(tenant=tenant, action=action, note=note, object_id=object_id,
                                         object_repr=f"{action} record", actor=actor,
                                         actor_label=actor.username if actor else "system",
                                         at=at or dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))


@pytest.fixture
def events(tenant_a, tenant_b, cast):
    rows = [
        _event(tenant_a, "charlie.created", note="", object_id="3", actor=cast["admin"]),
        _event(tenant_a, "alpha.created", note="first", object_id="1", actor=cast["auditor"],
               at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC)),
        _event(tenant_a, "bravo.changed", note="second", object_id="22", actor=cast["admin"]),
        _event(tenant_a, "alphabet.removed", note="third", object_id="4"),
    ]
    _event(tenant_b, "alpha.foreign", note="tenant b")
    return rows


@pytest.fixture
def auditor(client, cast):
    client.force_login(cast["auditor"])
    return client


def _url(tenant, query=""):
    return f"/t/{tenant.slug}/test-events/" + (f"?{query}" if query else "")


def _actions(response):
    return [row.record.action for row in response.context["table"].paginated_rows]


def _tsv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return [line.split("\t") for line in body.splitlines()]


def test_the_list_shows_the_tenants_rows_only(auditor, tenant_a, events):
    response = auditor.get(_url(tenant_a))
    assert response.status_code == 200
    assert sorted(_actions(response)) == ["alpha.created", "alphabet.removed", "bravo.changed", "charlie.created"]
    assert "alpha.foreign" not in response.content.decode()


def test_sorting_by_a_column_both_ways(auditor, tenant_a, events):
    assert _actions(auditor.get(_url(tenant_a, "sort=action"))) == [
        "alpha.created", "alphabet.removed", "bravo.changed", "charlie.created"]
    assert _actions(auditor.get(_url(tenant_a, "sort=-action")))[0] == "charlie.created"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=alpha", ["alpha.created", "alphabet.removed"]),  # contains is the default
        ("action=ALPHA.CREATED&action__op=iexact", ["alpha.created"]),
        ("action=b&action__op=istartswith", ["bravo.changed"]),
        ("note__op=isnull", ["charlie.created"]),  # empty means "" as well as NULL
        ("at=2026-02-01&at__op=lt", ["alpha.created"]),
        ("at=2026-02-01&at__op=gt", ["alphabet.removed", "bravo.changed", "charlie.created"]),
        ("action=alpha&note=third", ["alphabet.removed"]),  # filters combine
        ("action=zzz", []),
    ],
)
def test_filter_operators(auditor, tenant_a, events, query, expected):
    response = auditor.get(_url(tenant_a, query + "&sort=action"))
    assert _actions(response) == expected


def test_the_column_picker_is_remembered_per_user_and_table(client, cast, tenant_a, events):
    client.force_login(cast["auditor"])
    page = client.get(_url(tenant_a))
    assert [c.name for c in page.context["table"].columns] == ["selection", "action", "actor", "object_repr"]
    response = client.post(_url(tenant_a, "sort=action"), {"columns": ["note", "action", "bogus"]})
    assert response.status_code == 302 and response["Location"].endswith("?sort=action")
    pref = TablePreference.objects.get(user=cast["auditor"], table="test.events")
    assert pref.columns == ["note", "action"]
    page = client.get(_url(tenant_a))
    assert [c.name for c in page.context["table"].columns] == ["selection", "note", "action"]
    # Another user still sees the default; reset brings the default back.
    client.force_login(cast["admin"])
    assert [c.name for c in client.get(_url(tenant_a)).context["table"].columns][1:] == ["action", "actor", "object_repr"]
    client.force_login(cast["auditor"])
    client.post(_url(tenant_a), {"reset": "1"})
    assert not TablePreference.objects.filter(user=cast["auditor"]).exists()


def test_export_honours_filters_but_not_sort_or_paging(auditor, tenant_a, events):
    response = auditor.get(_url(tenant_a, "action=alpha&sort=-action&page=1&export=tsv"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="tenant-a-test-events.tsv"' or \
        response["Content-Disposition"].startswith('attachment; filename="tenant-a-')
    rows = _tsv(response)
    assert rows[0] == ["Action", "Actor", "Record"]
    assert [r[0] for r in rows[1:]] == ["alpha.created", "alphabet.removed"]  # primary-key order


def test_export_writes_the_chosen_columns_and_guards_formulas(auditor, tenant_a, cast, events):
    _event(tenant_a, "=HYPERLINK(1)", note="x")
    TablePreference.objects.create(user=cast["auditor"], table="test.events", columns=["action", "note"])
    rows = _tsv(auditor.get(_url(tenant_a, "note=x&export=tsv")))
    assert rows == [["Action", "Note"], ["'=HYPERLINK(1)", "x"]]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_formats(auditor, tenant_a, events, fmt):
    response = auditor.get(_url(tenant_a, f"export={fmt}"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        assert body.decode().splitlines()[0] == "Action,Actor,Record"
    else:
        assert body[:2] == b"PK"


def test_an_unknown_export_format_is_a_bad_request(auditor, tenant_a, events):
    assert auditor.get(_url(tenant_a, "export=pdf")).status_code == 400


def test_streaming_exports_run_inside_the_tenant_scope(auditor, tenant_a, events):
    response = auditor.get(_url(tenant_a, "export=tsv"))
    # The middleware has left the scope by now; consuming the stream must not raise ScopeError.
    from django_scopes import get_scope

    assert "tenant" not in get_scope()
    assert len(_tsv(response)) == 5


def test_the_query_count_does_not_grow_with_rows(auditor, tenant_a, cast, django_assert_max_num_queries):
    def count_for(n):
        for i in range(n):
            _event(tenant_a, f"bulk.{i}", actor=UserFactory(username=f"actor{n}-{i}"))
        with CaptureQueriesContext(connection) as ctx:
            assert auditor.get(_url(tenant_a)).status_code == 200
        return len(ctx)

    few = count_for(2)
    many = count_for(30)
    assert many == few
    with django_assert_max_num_queries(few):
        auditor.get(_url(tenant_a))


def test_htmx_requests_get_the_table_partial(auditor, tenant_a, events):
    response = auditor.get(_url(tenant_a, "action=alpha"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="list-table"') and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_a_bulk_action_applies_to_the_selected_rows(client, cast, tenant_a, events):
    client.force_login(cast["admin"])
    response = client.post(_url(tenant_a), {"bulk_action": "annotate", "selected": [events[0].pk, events[2].pk]})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        assert set(AuditEvent.objects.filter(note="bulk").values_list("pk", flat=True)) == {events[0].pk, events[2].pk}


def test_a_bulk_action_on_all_matching_rows_uses_the_filters(client, cast, tenant_a, tenant_b, events):
    client.force_login(cast["admin"])
    client.post(_url(tenant_a, "action=alpha"), {"bulk_action": "annotate", "select_all_matching": "1"})
    with scope(tenant=tenant_a):
        assert sorted(AuditEvent.objects.filter(note="bulk").values_list("action", flat=True)) == [
            "alpha.created", "alphabet.removed"]
    with scope(tenant=tenant_b):
        assert not AuditEvent.objects.filter(note="bulk").exists()


def test_a_bulk_action_needs_its_permission(auditor, tenant_a, events):
    response = auditor.post(_url(tenant_a), {"bulk_action": "annotate", "selected": [events[0].pk]})
    assert response.status_code == 403
    assert auditor.post(_url(tenant_a), {"bulk_action": "nope"}).status_code == 400


def test_a_greater_than_filter_does_not_also_demand_equality():
    """Regression: the bare field name is django-filter's exact lookup and must not leak through."""
    from django.test import RequestFactory

    from sam.lists import TenantListView

    class View(TenantListView):
        filter_fields = {"progress": "number"}

    view = View()
    view.request = RequestFactory().get("/", {"progress": "5", "progress__op": "gt"})
    data = view.filter_data()
    assert data.get("progress__gt") == "5"
    assert "progress" not in data
