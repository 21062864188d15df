"""A license manager adds a suite component by form, picking both products by search, in Chromium.

(Adding a SKU alias by form is engineer "clearing"'s part of the issue and is tested there.)
"""
from __future__ import annotations

import pytest
from django_scopes import scope

from catalog.selectors import bundle_components_effective
from tests.browser.conftest import login
from tests.requirements_engine.factories import ProductFactory, PublisherFactory

pytestmark = pytest.mark.django_db(transaction=True)


def pick(page, field: str, search: str, label: str) -> None:
    picker = page.locator(f"#id_{field}").locator("xpath=..")
    picker.locator("input[type=search]").fill(search)
    page.wait_for_function(f"document.querySelector('#id_{field}').options.length > 1")
    page.select_option(f"#id_{field}", label=label)


def test_add_a_suite_component_by_form(page, live_server, cast, tenant_a):
    ms = PublisherFactory(name="Microsoft")
    suite = ProductFactory(publisher=ms, title="Microsoft 365", version="E3", edition="")
    word = ProductFactory(publisher=ms, title="Word", version="2024", edition="")

    login(page, live_server, "a-license_manager")
    page.goto(f"{live_server.url}/t/tenant-a/catalog/amendments/")
    page.click("#add-bundle")
    pick(page, "bundle", "365", "Microsoft Microsoft 365 E3")
    pick(page, "component", "Word", "Microsoft Word 2024")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/t/tenant-a/catalog/amendments/")
    row = page.locator("#bundles tbody tr").first.inner_text()
    assert "Microsoft 365 E3" in row and "Word 2024" in row
    with scope(tenant=tenant_a):
        assert bundle_components_effective(tenant=tenant_a)[suite.pk] == {word.pk}
