"""Tenant isolation, generated from the resolver: every page, a foreign tenant's slug and ids.

* a member of tenant A asking for tenant B's pages gets 404, as for a tenant that does not exist;
* tenant A's slug with the id of a row owned by tenant B gets 404 (fetch through the scope);
* anonymous visitors are sent to the log-in page;
* every tenant model's manager refuses queries outside a tenant scope, and inside tenant A's
  scope tenant B's rows do not exist.
"""
from __future__ import annotations

import pytest
from django_scopes import ScopeError, scope

from sam.views import TenantView
from tests.sam.urlwalk import LARGE_ID, build_row, is_tenant_owned, tenant_models, tenant_routes, walk

pytestmark = pytest.mark.django_db

ROUTES = tenant_routes()
OTHER_ROUTES = [r for r in walk() if not r.is_tenant]
PK_ROUTES = [r for r in ROUTES if r.int_kwargs]


def _request(client, route, url, method):
    return getattr(client, method)(url)


def _methods(route) -> list[str]:
    if route.view_class is None:  # a function view (the API): try both
        return ["get", "post"]
    methods = [m for m in ("get", "post", "put", "patch", "delete") if route.has(m)]
    assert methods, f"{route}: the view answers no HTTP method"
    return methods


def _ids_for(route, tenant, cache) -> dict:
    ids = {}
    for kwarg in route.int_kwargs:
        model = route.model_for(kwarg)
        ids[kwarg] = build_row(model, tenant, cache=cache).pk if model is not None else LARGE_ID
    return ids


def test_the_walk_finds_the_shell_pages():
    names = {r.name for r in ROUTES}
    assert {"dashboard", "members", "member-change", "audit", "job", "imports"} <= names


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_tenant_page_is_a_tenant_view_that_names_its_model(route):
    assert route.view_class is not None and issubclass(route.view_class, TenantView), (
        f"{route}: tenant pages must subclass sam.views.TenantView (role check, scope)")
    assert route.view_class.permission, f"{route}: declares no permission"
    if "pk" in route.kwargs:
        assert route.model_for("pk") is not None, (
            f"{route} ({route.view_class.__name__}) takes a pk but declares no `model`: "
            "set `model = <Model>` so the isolation test can feed it a foreign tenant's id")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_a_foreign_tenant_slug_is_404(client, cast, tenant_a, tenant_b, route):
    client.force_login(cast["admin"])
    cache = {}
    ids = _ids_for(route, tenant_b, cache)
    url = route.url(tenant=tenant_b.slug, **{**route.examples, **ids})
    for method in _methods(route):
        response = _request(client, route, url, method)
        assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}"


@pytest.mark.parametrize("route", PK_ROUTES, ids=str)
def test_a_foreign_tenant_id_is_404(client, cast, tenant_a, tenant_b, route):
    client.force_login(cast["admin"])
    cache = {}
    own = _ids_for(route, tenant_a, cache)
    for kwarg in route.int_kwargs:
        model = route.model_for(kwarg)
        if model is not None and not is_tenant_owned(model):
            continue  # a master-catalog row is global: every tenant may see it
        foreign = build_row(model, tenant_b, cache=cache).pk if model is not None else LARGE_ID
        url = route.url(tenant=tenant_a.slug, **{**route.examples, **own, kwarg: foreign})
        # GET when the view shows something; POST-only views must 404 the POST.
        method = "get" if route.has("get") else "post"
        response = _request(client, route, url, method)
        assert response.status_code == 404, (
            f"{method.upper()} {url} with tenant B's {model.__name__ if model else '?'} id -> {response.status_code}")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_anonymous_visitors_are_sent_to_log_in(client, tenant_a, route):
    url = route.url(tenant=tenant_a.slug, **route.examples)
    for method in _methods(route):
        response = _request(client, route, url, method)
        assert response.status_code == 302, f"{method.upper()} {url} -> {response.status_code}"
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("route", [r for r in OTHER_ROUTES], ids=str)
def test_pages_outside_a_tenant_leak_nothing_to_anonymous_visitors(client, tenant_b, route):
    cache = {}
    url = route.url(**_ids_for(route, tenant_b, cache))
    response = client.get(url)
    if route.name in ("login", "logout"):
        assert response.status_code in (200, 302, 405)
    else:
        assert response.status_code in (302, 401, 403, 404, 405), f"GET {url} -> {response.status_code}"
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/")


def test_pages_outside_a_tenant_refuse_a_foreign_tenant_id(client, cast, tenant_b):
    client.force_login(cast["admin"])
    for route in [r for r in OTHER_ROUTES if r.int_kwargs]:
        url = route.url(**_ids_for(route, tenant_b, {}))
        for method in _methods(route):
            response = _request(client, route, url, method)
            assert response.status_code in (401, 403, 404, 405), f"{method.upper()} {url} -> {response.status_code}"


# ---------------------------------------------------------------------------------------------
# The scoped manager

MODELS = tenant_models()
UNSCOPED = {
    "all": lambda m: list(m.objects.all()),
    "filter": lambda m: list(m.objects.filter(pk=1)),
    "get": lambda m: m.objects.get(pk=1),
    "exists": lambda m: m.objects.exists(),
    "exclude": lambda m: list(m.objects.exclude(pk=1)),
    "count": lambda m: m.objects.count(),
    "values": lambda m: list(m.objects.values("pk")),
    "first": lambda m: m.objects.first(),
    "in_bulk": lambda m: m.objects.in_bulk([1]),
    "select_related_exists": lambda m: m.objects.select_related().exists(),
    "iterate": lambda m: [x for x in m.objects.iterator()],
}


def test_every_tenant_table_is_found():
    labels = {m._meta.label for m in MODELS}
    assert {"sam.Job", "sam.AuditEvent"} <= labels
    assert len(MODELS) > 10


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_tenant_model_uses_the_scoped_manager(model):
    from sam.models import TenantManager

    assert isinstance(model._default_manager, TenantManager), (
        f"{model._meta.label}: its default manager must be sam.models.TenantManager (inherit TenantModel's)")
    assert model._meta.get_field("tenant").related_model._meta.label == "sam.Tenant"


@pytest.mark.parametrize("how", list(UNSCOPED))
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_an_unscoped_query_on_a_tenant_model_raises(model, how):
    with pytest.raises(ScopeError):
        UNSCOPED[how](model)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_inside_tenant_a_the_rows_of_tenant_b_do_not_exist(tenant_a, tenant_b, model):
    try:
        foreign = build_row(model, tenant_b)
    except Exception as exc:  # noqa: BLE001 - say which model needs a builder
        pytest.fail(f"cannot build a {model._meta.label} row for the test: {exc!r}; add a builder in "
                    "tests/sam/urlwalk.py")
    with scope(tenant=tenant_a):
        assert not model.objects.filter(pk=foreign.pk).exists()
        assert foreign.pk not in set(model.objects.values_list("pk", flat=True))
        with pytest.raises(model.DoesNotExist):
            model.objects.get(pk=foreign.pk)
    with scope(tenant=tenant_b):
        assert model.objects.filter(pk=foreign.pk).exists()
