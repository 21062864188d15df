"""A live cross-tenant crawler: markers planted in tenant A, every page and form tried from outside.

Tenant A gets one row of every model that holds tenant data, each text field set to a unique
marker (``zqmark00042``). Tenant A's administrator then opens every page of the resolver (with A's
ids) and collects the links and forms the pages offer. Then:

* every role of tenant B requests every page with B's slug, once with A's ids and once with its
  own, plus every link found on A's pages (query strings carry A's ids: ``?publisher=7``) and the
  list exports, and posts every form of A's pages (A's ids in the path and in the body) to B's
  slug; no response of B may contain an A marker, and A's rows must be unchanged afterwards;
* A's lower roles (license manager, clearing staff, auditor) request the same pages and post every
  form whose view they lack the POST permission for: each such POST must be refused (>= 400) and
  A's rows must again be unchanged.

Bounded: one parse per page, links deduplicated by route and query keys, at most four submit
buttons per form.
"""
from __future__ import annotations

import time
from urllib.parse import unquote_plus, urlsplit

import pytest

from sam.models import Role
from sam.permissions import role_has_perm
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.sam.urlwalk import build_row, tenant_models, tenant_routes
from tests.security.crawl import (
    MARKER_PREFIX,
    diff_dumps,
    dump_rows,
    get_form_urls,
    link_key,
    parse_page,
    plant_markers,
    route_of,
)

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
SKIP_ACTIONS = ("/accounts/logout/", "/accounts/password/")
BUDGET_S = 240  # both tests together stay well under five minutes on two loaded cores


def _url(route, tenant, cache):
    ids = {k: build_row(route.model_for(k), tenant, cache=cache).pk if route.model_for(k) else 987_654_321
           for k in route.int_kwargs}
    return route.url(tenant=tenant.slug, **{**route.examples, **ids})


def _text(response) -> str:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content)
    else:
        body = response.content
    return body.decode("utf-8", "replace").lower()


def _leaks(response, markers: dict[str, str], sent: str = "") -> list[str]:
    """A's markers in a response, except those the request itself carried (a filter echoing ``?q=``)."""
    text = _text(response) + " " + response.get("Location", "").lower()
    if MARKER_PREFIX not in text:
        return []
    sent = unquote_plus(sent).lower()
    return [f"{m} ({markers[m]})" for m in markers if m in text and m not in sent]


class Crawl:
    """A's pages, links and forms, discovered once by A's administrator."""

    def __init__(self, client, tenant_a, tenant_b, users):
        self.client, self.a, self.b, self.users = client, tenant_a, tenant_b, users
        self.a_cache: dict = {}
        self.b_cache: dict = {}
        # B's own rows first, so that shared parents (publishers, products) are master rows and
        # never one of A's private ones.
        for model in tenant_models():
            build_row(model, tenant_b, cache=self.b_cache)
        self.markers = plant_markers(tenant_a)
        self.pages: list[tuple] = []  # (route, A url, B url with A ids, B url with B ids)
        self.links: dict[tuple, str] = {}
        self.forms: dict[tuple, tuple] = {}  # key -> (action path, values)
        self.requests = 0
        self.discover()

    def get(self, url, **extra):
        self.requests += 1
        return self.client.get(url, **extra)

    def post(self, url, values):
        self.requests += 1
        data: dict[str, list[str]] = {}
        for name, value in values:
            data.setdefault(name, []).append(value)
        return self.client.post(url, data)

    def discover(self) -> None:
        self.client.force_login(self.users["a-admin"])
        for route in tenant_routes():
            if not route.has("get"):
                continue
            a_url = _url(route, self.a, self.a_cache)
            own_b = _url(route, self.b, self.b_cache)
            self.pages.append((route, a_url, self.to_b(a_url), own_b))
            response = self.get(a_url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            forms, links = parse_page(a_url, _text_raw(response))
            for link in links:
                key = link_key(link)
                if key is not None and key not in self.links:
                    self.links[key] = link
            for form in forms:
                action = urlsplit(form.action).path or urlsplit(a_url).path
                if not action.startswith("/t/") or action.startswith(SKIP_ACTIONS):
                    continue
                if form.method == "get":
                    for url in get_form_urls(form):
                        key = link_key(url)
                        if key is not None:
                            self.links.setdefault((*key, "form"), url)
                    continue
                for values in form.variants():
                    key = (action, tuple(sorted(n for n, _v in values)),
                           tuple(v for n, v in values if n in ("action", "bulk_action", "op")))
                    self.forms.setdefault(key, (action, values))

    def to_b(self, url: str) -> str:
        return url.replace(f"/t/{self.a.slug}/", f"/t/{self.b.slug}/", 1)

    def post_permission(self, action: str, values) -> str | None:
        match = route_of(action)
        view_class = getattr(match.func, "view_class", None) if match else None
        if view_class is None:
            return None
        perm = view_class.post_permission or view_class.permission
        bulk = dict(values).get("bulk_action")
        if bulk and bulk in getattr(view_class, "bulk_actions", {}):
            return view_class.bulk_actions[bulk][1] if role_has_perm("admin", perm) else perm
        return perm


def _text_raw(response) -> str:
    return response.content.decode("utf-8", "replace")


@pytest.fixture
def crawl(db):
    from django.test import Client

    client = Client(raise_request_exception=False)  # a 500 is an answer to record, not a crash
    tenant_a = TenantFactory(slug="crawl-a", name="Crawl A")
    tenant_b = TenantFactory(slug="crawl-b", name="Crawl B")
    users = {}
    for tenant, prefix in ((tenant_a, "a"), (tenant_b, "b")):
        for role in ROLES:
            user = UserFactory(username=f"{prefix}-{role}")
            MembershipFactory(user=user, tenant=tenant, role=role)
            users[f"{prefix}-{role}"] = user
    return Crawl(client, tenant_a, tenant_b, users)


def test_the_crawler_reaches_every_page_marker_and_form(crawl):
    """The crawl is only worth something if it sees A's data: A's own pages show many markers."""
    from tests.security.crawl import tenant_data_models

    assert len(crawl.markers) >= len(tenant_data_models())  # a marker in (nearly) every table
    assert len(crawl.pages) > 50
    assert len(crawl.forms) > 30, sorted(crawl.forms)[:5]
    assert len(crawl.links) > 30
    seen = set()
    crawl.client.force_login(crawl.users["a-admin"])
    for _route, a_url, _b, _own in crawl.pages:
        response = crawl.get(a_url)
        if response.status_code == 200:
            seen |= set(_leaks(response, crawl.markers))
    # Planted rows of many different tables show up on A's own pages (the detection works).
    assert len({s.split(" (")[1].rsplit(".", 1)[0] for s in seen}) >= 15, sorted(seen)


def test_no_role_of_tenant_b_sees_or_changes_tenant_a(crawl):
    started = time.monotonic()
    before = dump_rows(crawl.a)
    leaks: list[str] = []
    errors: list[str] = []
    for role in ROLES:
        crawl.client.force_login(crawl.users[f"b-{role}"])
        urls = []
        for route, a_url, b_with_a_ids, own_b in crawl.pages:
            urls += [b_with_a_ids, own_b]
            if route.view_class is not None and hasattr(route.view_class, "table_class"):
                urls += [f"{own_b}?export=csv", f"{own_b}?q={MARKER_PREFIX}"]
            if role == "admin":
                urls.append(a_url)  # A's own slug: the middleware's 404
        urls += [crawl.to_b(link) for link in crawl.links.values()]
        for url in dict.fromkeys(urls):
            response = crawl.get(url)
            if hit := _leaks(response, crawl.markers, url):
                leaks.append(f"b-{role} GET {url} -> {response.status_code} shows {hit[:3]}")
            if response.status_code >= 500:
                errors.append(f"b-{role} GET {url} -> {response.status_code}")
            hx = crawl.get(url, HTTP_HX_REQUEST="true") if "?" in url and role == "admin" else None
            if hx is not None and (hit := _leaks(hx, crawl.markers, url)):
                leaks.append(f"b-{role} GET(htmx) {url} -> {hx.status_code} shows {hit[:3]}")
        for action, values in crawl.forms.values():
            url = crawl.to_b(action)
            response = crawl.post(url, values)
            if hit := _leaks(response, crawl.markers, repr(values)):
                leaks.append(f"b-{role} POST {url} {values[:4]} -> {response.status_code} shows {hit[:3]}")
            if response.status_code >= 500:
                errors.append(f"b-{role} POST {url} -> {response.status_code}")
    changes = diff_dumps(before, dump_rows(crawl.a))
    elapsed = time.monotonic() - started
    assert not leaks, "tenant B saw tenant A's data:\n" + "\n".join(leaks[:40])
    assert not changes, "tenant B's requests changed tenant A's rows:\n" + "\n".join(changes)
    assert crawl.requests > 500
    assert elapsed < BUDGET_S, f"crawl took {elapsed:.0f}s for {crawl.requests} requests"
    # A foreign tenant's request is a 404 before any view code runs; a 500 here is a lead to follow.
    assert not errors, "\n".join(errors[:20])


def test_the_lower_roles_of_tenant_a_cannot_do_what_their_role_forbids(crawl):
    started = time.monotonic()
    before = dump_rows(crawl.a)
    accepted: list[str] = []
    for role in (Role.LICENSE_MANAGER, Role.CLEARING, Role.AUDITOR):
        crawl.client.force_login(crawl.users[f"a-{role}"])
        for route, a_url, _b, _own in crawl.pages:
            response = crawl.get(a_url)
            if not role_has_perm(role, route.view_class.permission):
                assert response.status_code == 403, f"a-{role} GET {a_url} -> {response.status_code}"
        after_reads = dump_rows(crawl.a)
        assert not diff_dumps(before, after_reads), (
            f"a-{role}'s GETs changed rows (reads never write):\n" + "\n".join(diff_dumps(before, after_reads)))
        for action, values in crawl.forms.values():
            perm = crawl.post_permission(action, values)
            if perm is None or role_has_perm(role, perm):
                continue
            response = crawl.post(action, values)
            if response.status_code < 400:
                accepted.append(f"a-{role} POST {action} {values[:4]} -> {response.status_code} (lacks {perm})")
    changes = diff_dumps(before, dump_rows(crawl.a))
    assert not accepted, "forbidden actions were accepted:\n" + "\n".join(accepted[:40])
    assert not changes, "A's lower roles changed rows their role may not:\n" + "\n".join(changes)
    assert time.monotonic() - started < BUDGET_S
