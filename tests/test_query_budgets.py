"""Query budgets, generated from the resolver: every list page and dashboard answers in a bounded
number of queries that does not grow with the rows it shows.

* every declared list (a ``sam.lists.TenantListView``): the count with one row of its model equals
  the count with six more rows (no query per row), for the page, its htmx partial and its export;
* every other tenant page without ids (dashboards, queues, the balance): at most ``BUDGET`` queries.
"""
from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from sam.lists import TenantListView
from sam.models import Tenant
from tests.sam.urlwalk import build_row, is_tenant_owned, tenant_routes

pytestmark = pytest.mark.django_db

BUDGET = 60
ROUTES = [r for r in tenant_routes() if r.has("get") and not r.int_kwargs and not r.has_unknown_kwargs]
LISTS = [r for r in ROUTES if issubclass(r.view_class, TenantListView) and getattr(r.view_class, "model", None)]
PAGES = [r for r in ROUTES if r not in LISTS]


def _more(model, tenant, cache) -> None:
    """One more row of ``model``; where a unique constraint spans its relations, with fresh parents."""
    try:
        with transaction.atomic():
            build_row(model, tenant, cache=cache, fresh=True)
            return
    except IntegrityError:
        pass
    row = build_row(model, tenant, cache=cache)
    with scope(tenant=tenant), transaction.atomic():
        row.pk = None
        row._state.adding = True
        for f in model._meta.concrete_fields:
            if isinstance(f, models.ForeignKey) and f.name != "tenant" and f.related_model is not Tenant \
                    and getattr(row, f.attname) is not None:
                owner = tenant if is_tenant_owned(f.related_model) else None
                setattr(row, f.name, build_row(f.related_model, owner, cache={}, fresh=True))
        row.save()


def _count(client, url, **extra) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **extra)
    return response.status_code, len(ctx.captured_queries)


@pytest.mark.parametrize("route", LISTS, ids=str)
def test_a_list_page_costs_the_same_queries_for_one_row_and_for_seven(client, cast, tenant_a, route):
    client.force_login(cast["admin"])
    model = route.view_class.model
    url = route.url(tenant=tenant_a.slug, **route.examples)
    cache: dict = {}
    build_row(model, tenant_a, cache=cache)
    variants = {"page": {}, "htmx": {"HTTP_HX_REQUEST": "true"}}
    before = {}
    for name, extra in variants.items():
        client.get(url, **extra)  # warm caches (content types, table preferences)
        status, before[name] = _count(client, url, **extra)
        assert status == 200, f"{route} {name} -> {status}"
        assert before[name] <= BUDGET, f"{route} {name}: {before[name]} queries"
    for _ in range(6):
        _more(model, tenant_a, cache)
    for name, extra in variants.items():
        status, after = _count(client, url, **extra)
        assert status == 200
        assert after == before[name], f"{route} {name}: {before[name]} queries with 1 row, {after} with 7"
    _status, export_1 = _count(client, f"{url}?export=csv")
    _more(model, tenant_a, cache)
    _status, export_2 = _count(client, f"{url}?export=csv")
    assert export_1 == export_2 <= BUDGET, f"{route} export: {export_1} then {export_2} queries"


@pytest.mark.parametrize("route", PAGES, ids=str)
def test_every_other_page_without_ids_stays_within_the_budget(client, cast, tenant_a, route):
    client.force_login(cast["admin"])
    cache: dict = {}
    model = getattr(route.view_class, "model", None)
    if model is not None:
        for _ in range(3):
            _more(model, tenant_a, cache)
    url = route.url(tenant=tenant_a.slug, **route.examples)
    client.get(url)
    status, count = _count(client, url)
    assert status in (200, 302), f"{route} -> {status}"
    assert count <= BUDGET, f"{route}: {count} queries"
