"""The global search box: a few matches per kind, each kind only for roles that may read it.

Bounded: every kind asks one query limited to ``LIMIT + 1`` rows (the extra row says "more"),
inside the tenant scope, so the page costs the same on a 100-device and a 100,000-device tenant.
Each app registers the kinds it owns (``search.kinds`` in its ``AppConfig.ready()``), so the core
imports no app.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse

from sam.hooks import hook_run
from sam.models import Tenant

LIMIT = 8
MIN_LENGTH = 2


@dataclass
class Hit:
    label: str
    detail: str
    url: str


@dataclass
class Group:
    key: str
    title: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False
    more_url: str = ""


@dataclass
class SearchKind:
    """One kind of thing the search box finds; apps register theirs (hook ``search.kinds``)."""

    key: str
    title: str
    permission: str
    search: Callable[[Tenant, str], tuple[list[Hit], str]]


def tenant_url(name: str, tenant: Tenant, **kwargs) -> str:
    """The URL of a tenant page, or "" when the page does not exist (an app not installed)."""
    try:
        return reverse(name, kwargs={"tenant": tenant.slug, **kwargs})
    except NoReverseMatch:
        return ""


def search_kinds() -> list[SearchKind]:
    """The kinds every app registered, in the apps' registration order."""
    return [kind for kinds in hook_run("search.kinds") for kind in kinds]


def global_search(*, tenant: Tenant, membership, q: str) -> list[Group]:
    """Matches of ``q`` per kind the member may read (at most ``LIMIT`` each). Call inside the scope."""
    q = " ".join((q or "").split())[:100]
    if len(q) < MIN_LENGTH:
        return []
    groups = []
    for kind in search_kinds():
        if not membership.has_perm(kind.permission):
            continue
        hits, more_url = kind.search(tenant, q)
        groups.append(Group(key=kind.key, title=str(kind.title), hits=hits[:LIMIT], more=len(hits) > LIMIT,
                            more_url=more_url))
    return groups
