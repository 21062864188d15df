"""403 and 404 pages in the product's layout: they say why and offer a way back."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_forbidden_page_names_the_role_and_the_missing_permission(client, cast, tenant_a):
    client.force_login(cast["auditor"])
    response = client.get(f"/t/{tenant_a.slug}/members/")
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="shell-header"' in page  # the product's layout
    assert "<strong>Auditor</strong>" in page and "members.manage" in page
    assert f'href="/t/{tenant_a.slug}/"' in page and "Go back" in page


def test_a_missing_page_says_why_without_naming_a_foreign_tenant(client, cast, tenant_a, tenant_b):
    client.force_login(cast["admin"])
    response = client.get(f"/t/{tenant_b.slug}/inventory/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="shell-header"' in page and "not a member of" in page
    assert tenant_b.name not in page
    assert 'href="/"' in page  # back to the start page
