from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_anonymous_tenant_page_redirects_to_login(client, tenant_a):
    response = client.get(f"/t/{tenant_a.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_member_sees_dashboard_and_foreign_tenant_is_404(client, cast, tenant_a, tenant_b):
    client.force_login(cast["admin"])
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200
    assert client.get(f"/t/{tenant_b.slug}/").status_code == 404
    assert client.get("/t/no-such-tenant/").status_code == 404


def test_login_with_password_lands_on_the_only_tenant(client, cast, tenant_a):
    response = client.post("/accounts/login/", {"username": "a-auditor", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("dashboard", kwargs={"tenant": tenant_a.slug})


def test_only_the_most_specific_navigation_entry_is_current(client, cast, tenant_a):
    from django.urls import reverse as url

    client.force_login(cast["admin"])
    response = client.get(url("requirements:balance", kwargs={"tenant": tenant_a.slug}))
    current = [item["label"] for item in response.context["nav"] if item["active"]]
    assert current == ["Balance"]
