"""The role matrix, generated from the resolver: each role reaches exactly the pages its
permissions allow (sam/permissions.py), and only roles holding a view's POST permission may post.
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from sam.models import Role
from sam.permissions import ALL, ROLE_PERMISSIONS, role_has_perm
from tests.sam.urlwalk import LARGE_ID, build_row, tenant_routes

pytestmark = pytest.mark.django_db

ROUTES = tenant_routes()
ROLES = list(Role.values)
GET_ROUTES = [r for r in ROUTES if r.has("get")]
POST_ROUTES = [r for r in ROUTES if r.has("post")]


def _url(route, tenant, cache):
    ids = {}
    for kwarg in route.int_kwargs:
        model = route.model_for(kwarg)
        ids[kwarg] = build_row(model, tenant, cache=cache).pk if model is not None else LARGE_ID
    return route.url(tenant=tenant.slug, **{**route.examples, **ids})


def _allowed(route, response) -> bool:
    """A permitted role's request succeeds as the view normally does: not 403, no server error.

    A page without ids must not 404; one showing a row may (the generic test row may not be one the
    view shows, e.g. a batch without a file), and so may one with a kwarg it declares no
    ``url_examples`` for.
    """
    if response.status_code == 403 or response.status_code >= 500:
        return False
    if response.status_code == 404:
        return bool(route.int_kwargs) or route.has_unknown_kwargs
    return True


def _post_permission(view_class) -> str:
    return view_class.post_permission or view_class.permission


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_view_names_a_known_permission(route):
    assert route.view_class.permission in ALL, f"{route}: unknown permission {route.view_class.permission!r}"
    if route.view_class.post_permission:
        assert route.view_class.post_permission in ALL


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", GET_ROUTES, ids=str)
def test_each_role_sees_exactly_the_pages_its_permissions_allow(client, cast, tenant_a, route, role):
    client.force_login(cast[role])
    url = _url(route, tenant_a, {})
    response = client.get(url)
    if role_has_perm(role, route.view_class.permission):
        assert _allowed(route, response), f"{role} GET {url} -> {response.status_code}"
    else:
        assert response.status_code == 403, f"{role} GET {url} -> {response.status_code}, expected 403"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_only_roles_holding_the_post_permission_may_post(client, cast, tenant_a, route, role):
    client.force_login(cast[role])
    url = _url(route, tenant_a, {})
    response = client.post(url)
    if role_has_perm(role, _post_permission(route.view_class)):
        assert response.status_code != 403 and response.status_code < 500, (
            f"{role} POST {url} -> {response.status_code}")
    else:
        assert response.status_code == 403, f"{role} POST {url} -> {response.status_code}, expected 403"


# The shell's own pages, spelled out (a change here is a product decision, not a refactoring).
SHELL = {
    "dashboard": {Role.ADMIN, Role.LICENSE_MANAGER, Role.CLEARING, Role.AUDITOR},
    "members": {Role.ADMIN},
    "settings": {Role.ADMIN},
    "audit": {Role.ADMIN, Role.LICENSE_MANAGER, Role.AUDITOR},
    "imports": {Role.ADMIN, Role.LICENSE_MANAGER},
}


@pytest.mark.parametrize("name", list(SHELL))
@pytest.mark.parametrize("role", ROLES)
def test_the_shell_pages_follow_the_table(client, cast, tenant_a, name, role):
    client.force_login(cast[role])
    response = client.get(reverse(name, kwargs={"tenant": tenant_a.slug}))
    assert response.status_code == (200 if role in SHELL[name] else 403)


@pytest.mark.parametrize("role", ROLES)
def test_the_navigation_offers_exactly_the_permitted_pages(client, cast, tenant_a, role):
    from sam.context_processors import NAVIGATION

    client.force_login(cast[role])
    response = client.get(reverse("dashboard", kwargs={"tenant": tenant_a.slug}))
    shown = {item["label"] for item in response.context["nav"]}
    for label, name, perm in NAVIGATION:
        try:
            reverse(name, kwargs={"tenant": tenant_a.slug})
        except Exception:  # noqa: BLE001 - the app has not built that page yet
            assert label not in shown
            continue
        assert (label in shown) == role_has_perm(role, perm), f"{role}: {label}"


def test_auditors_hold_every_view_permission_and_nothing_that_changes_data():
    auditor = ROLE_PERMISSIONS[Role.AUDITOR]
    assert {p for p in ALL if p.endswith(".view") or p == "export"} <= auditor
    assert not {p for p in auditor if p.endswith((".change", ".manage", ".confirm", ".run"))}


def test_auditors_change_nothing_anywhere(client, cast, tenant_a):
    client.force_login(cast[Role.AUDITOR])
    cache = {}
    for route in POST_ROUTES:
        perm = _post_permission(route.view_class)
        if perm in ROLE_PERMISSIONS[Role.AUDITOR]:
            # Only read-side preferences (the column picker of lists) may be posted by auditors.
            from sam.lists import TenantListView

            assert issubclass(route.view_class, TenantListView), f"{route}: auditors may POST with {perm}"
            continue
        assert client.post(_url(route, tenant_a, cache)).status_code == 403, route
