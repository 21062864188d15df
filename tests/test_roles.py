"""The role matrix: each role reaches exactly the pages the table "Who may open which page" in
docs/architecture.md allows, and posts exactly where it allows. The expectation comes from the
document, not from the views' own declarations, so a wrong declaration fails (M1 of issue 14: the
audit pack, declared with ``export`` only, was open to clearing staff).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from sam.lists import TenantListView
from sam.models import Role
from sam.permissions import ALL, ROLE_PERMISSIONS, role_has_perm
from tests.sam.urlwalk import LARGE_ID, build_row, tenant_routes

pytestmark = pytest.mark.django_db

ROUTES = tenant_routes()
ROLES = list(Role.values)
GET_ROUTES = [r for r in ROUTES if r.has("get")]
POST_ROUTES = [r for r in ROUTES if r.has("post")]

ARCHITECTURE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
ROLE_NAMES = {"admin": Role.ADMIN, "license manager": Role.LICENSE_MANAGER, "clearing": Role.CLEARING,
              "auditor": Role.AUDITOR}


def _roles(cell: str) -> frozenset[str] | None:
    cell = cell.strip()
    if cell in ("–", "-"):
        return None  # the page has no such method
    if cell == "nobody":
        return frozenset()
    return frozenset(ROLE_NAMES[name.strip()] for name in cell.split(","))


def doc_table() -> dict[str, tuple[frozenset[str] | None, frozenset[str] | None]]:
    """``{url name or "ns:*": (roles that may GET, roles that may POST)}`` from docs/architecture.md."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("### Who may open which page", 1)[1]
    table: dict[str, tuple] = {}
    for line in section.splitlines():
        m = re.match(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|\s*$", line)
        if m:
            table[m[1]] = (_roles(m[2]), _roles(m[3]))
        elif table and not line.startswith("|"):
            break
    return table


TABLE = doc_table()


def expected(route, method: str) -> frozenset[str]:
    """The roles the document lets use this page with this method (its own row, else ``ns:*``)."""
    row = TABLE.get(route.name)
    if row is None and ":" in route.name:
        row = TABLE.get(route.name.split(":")[0] + ":*")
    assert row is not None, f"{route}: not in docs/architecture.md 'Who may open which page'; add its row"
    get_roles, post_roles = row
    if method == "post" and issubclass(route.view_class, TenantListView) and not route.view_class.post_permission:
        return get_roles or frozenset()  # the column picker of a list
    roles = get_roles if method == "get" else post_roles
    assert roles is not None, f"{route}: the document says it has no {method.upper()}, but the view has one"
    return roles


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
    if role in expected(route, "get"):
        assert _allowed(route, response), f"{role} GET {url} -> {response.status_code}"
    else:
        assert response.status_code == 403, f"{role} GET {url} -> {response.status_code}, expected 403"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", POST_ROUTES, ids=str)
def test_only_roles_holding_the_post_permission_may_post(client, cast, tenant_a, route, role):
    client.force_login(cast[role])
    url = _url(route, tenant_a, {})
    response = client.post(url)
    if role in expected(route, "post"):
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


def test_every_row_of_the_document_names_a_page():
    names = {r.name for r in ROUTES}
    namespaces = {n.split(":")[0] for n in names if ":" in n}
    for key in TABLE:
        assert key in names or (key.endswith(":*") and key[:-2] in namespaces), f"{key}: no such page"


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
