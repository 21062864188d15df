"""The filter bar (chips, selects, distinct labels), paging ("page x of y", page sizes) and the
out-of-band refresh of the export links and counts after an HTMX filter."""
from __future__ import annotations

import pytest
from django_scopes import scope

from tests.inventory.factories import DeviceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices(tenant_a):
    with scope(tenant=tenant_a):
        rows = [DeviceFactory(tenant=tenant_a, name=f"PC-{i:03d}", status="Deployed" if i % 2 else "in store",
                              role="server" if i < 3 else "workstation") for i in range(60)]
    return rows


@pytest.fixture
def auditor(client, cast):
    client.force_login(cast["auditor"])
    return client


URL = "/t/tenant-a/inventory/"


def test_active_filters_become_chips_with_a_remove_link(auditor, devices):
    response = auditor.get(URL, {"role": "server", "role__op": "iexact", "name": "PC-00", "sort": "name"})
    chips = {f["name"]: f for f in response.context["active_filters"]}
    assert set(chips) == {"role", "name"}
    assert chips["role"]["display"] == "Server"  # the choice's label
    page = response.content.decode()
    assert 'data-filter="role"' in page and "Remove the filter on Role" in page
    # Removing the role chip keeps the other filter and the sort.
    assert chips["role"]["remove_query"] == "name=PC-00&sort=name"


def test_choice_and_boolean_filters_are_selects_and_labels_are_distinct(auditor, devices):
    rows = {f["name"]: f for f in auditor.get(URL).context["filter_rows"]}
    assert rows["role"]["choices"] == [("workstation", "Workstation"), ("laptop", "Laptop"), ("server", "Server")]
    # A free-text status becomes a select of the values present (bounded).
    assert rows["status"]["choices"] == [("Deployed", "Deployed"), ("in store", "in store")]
    assert rows["name"]["choices"] is None
    labels = [f["label"] for f in rows.values()]
    assert len(labels) == len(set(labels))
    assert rows["primary_user__username"]["label"] == "Primary user › username"


def test_a_choice_filter_from_its_select_filters_the_rows(auditor, devices):
    response = auditor.get(URL, {"status": "Deployed", "status__op": "iexact"})
    assert response.context["table"].paginator.count == 30  # the odd ones of 60


def test_pages_say_page_x_of_y_and_the_page_size_is_a_bounded_choice(auditor, devices):
    page = auditor.get(URL).content.decode()
    assert "Page 1 of 2" in page  # 60 rows, 50 a page
    assert '<ul class="pagination">' not in page  # no bullet list
    response = auditor.get(URL, {"per_page": "25", "page": "3"})
    assert "Page 3 of 3" in response.content.decode()
    assert len(list(response.context["table"].paginated_rows)) == 10  # 60 - 2 × 25
    # Only the offered sizes: anything else is the default.
    assert auditor.get(URL, {"per_page": "100000"}).context["per_page"] == 50


def test_an_htmx_filter_refreshes_the_export_links_and_chips_out_of_band(auditor, devices):
    response = auditor.get(URL, {"role": "server", "role__op": "iexact"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="list-table"')
    oob = body.split('<div id="list-export" hx-swap-oob="true">')[1].split("</div>")[0]
    assert 'href="?role=server&amp;role__op=iexact&amp;export=tsv"' in oob
    assert '<div id="filter-chips" class="chips" hx-swap-oob="true">' in body
    assert "3 rows" in body


def test_the_column_picker_keeps_the_posted_order(client, cast, devices):
    client.force_login(cast["auditor"])
    client.post(URL, {"columns": ["status", "name", "role"]})
    page = client.get(URL)
    assert [c.name for c in page.context["table"].columns][:3] == ["status", "name", "role"]
    assert 'data-move="up"' in page.content.decode()
