"""The machinery of the cross-tenant crawler: markers, row dumps, links and forms of a page.

Everything here is generic: models are found through ``sam.models.TenantModel`` (and any other
model with a foreign key to ``sam.Tenant``, such as a tenant's private publisher), pages through
the resolver (``tests/sam/urlwalk.py``), forms and links by parsing the HTML the views render.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.apps import apps
from django.db import models
from django.urls import Resolver404, resolve
from django_scopes import scopes_disabled

from sam.models import Tenant, TenantModel
from tests.sam.urlwalk import build_row

MARKER_PREFIX = "zqmark"
_counter = itertools.count(1)


# ---------------------------------------------------------------------------------------------
# Models that hold tenant data, markers and row dumps


def tenant_fk_fields(model) -> list[models.ForeignKey]:
    """The foreign keys of ``model`` that name an owning tenant (``tenant``, ``introduced_by``, ...)."""
    return [f for f in model._meta.concrete_fields
            if isinstance(f, models.ForeignKey) and f.related_model is Tenant]


def tenant_data_models() -> list[type[models.Model]]:
    """Every model with rows that belong to a tenant: TenantModel subclasses and private rows of
    shared tables (a foreign key to Tenant under another name)."""
    return [m for m in apps.get_models()
            if m is not Tenant and not m._meta.proxy and tenant_fk_fields(m)
            and m._meta.app_label not in ("auth", "contenttypes", "sessions", "admin", "axes")]


def _marker_fields(model) -> list[models.Field]:
    out = []
    for f in model._meta.concrete_fields:
        if f.choices or f.primary_key:
            continue
        if isinstance(f, models.EmailField) or isinstance(f, models.URLField):
            continue
        if isinstance(f, (models.CharField, models.TextField)) and (f.max_length is None or f.max_length >= 16):
            out.append(f)
    return out


def new_marker() -> str:
    return f"{MARKER_PREFIX}{next(_counter):05d}"


def plant_markers(tenant: Tenant) -> dict[str, str]:
    """One row of every tenant-data model owned by ``tenant``, its text fields set to unique markers.

    Returns marker -> "app.Model.field". Shared tables with a private-owner column get a private
    row of ``tenant`` under a shared (master) parent, the case that leaks when a reader forgets the
    owner filter.
    """
    markers: dict[str, str] = {}
    cache: dict = {}
    for model in tenant_data_models():
        if not _marker_fields(model):
            continue  # nothing to show (memberships): the row dump still watches it
        if issubclass(model, TenantModel):
            row = build_row(model, tenant, cache=cache)
        else:
            with scopes_disabled():  # a private row under shared (master) parents
                row = build_row(model, None, cache={}, fresh=True)
                for fk in tenant_fk_fields(model):
                    setattr(row, fk.name, tenant)
                row.save()
        updates = {}
        for f in _marker_fields(model):
            marker = new_marker()
            updates[f.attname] = marker
            markers[marker] = f"{model._meta.label}.{f.name}"
        if updates:
            with scopes_disabled():
                model._base_manager.filter(pk=row.pk).update(**updates)
    return markers


def _plain(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value) if value is not None else None


def dump_rows(tenant: Tenant) -> dict[str, list[tuple]]:
    """Every row owned by ``tenant`` in every tenant-data table, plus the tenant row itself."""
    out: dict[str, list[tuple]] = {}
    with scopes_disabled():
        for model in [Tenant, *tenant_data_models()]:
            names = [f.attname for f in model._meta.concrete_fields]
            if model is Tenant:
                qs = Tenant.objects.filter(pk=tenant.pk)
            else:
                q = models.Q()
                for fk in tenant_fk_fields(model):
                    q |= models.Q(**{fk.attname: tenant.pk})
                qs = model._base_manager.filter(q)
            out[model._meta.label] = [tuple(_plain(v) for v in row) for row in qs.order_by("pk").values_list(*names)]
    return out


def diff_dumps(before: dict, after: dict) -> list[str]:
    changes = []
    for label in sorted(set(before) | set(after)):
        old, new = set(before.get(label, [])), set(after.get(label, []))
        if old != new:
            changes.append(f"{label}: {len(old - new)} rows gone or changed, {len(new - old)} new or changed; "
                           f"e.g. {sorted(old - new, key=str)[:1]} -> {sorted(new - old, key=str)[:1]}")
    return changes


# ---------------------------------------------------------------------------------------------
# Forms and links in a page


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    def variants(self, limit: int = 4) -> list[list[tuple[str, str]]]:
        """The form's values, once per named submit button (at most ``limit``)."""
        base = list(self.fields)
        for name, options in self.selects.items():
            chosen = next((o for o in options if o), options[0] if options else "")
            base.append((name, chosen))
        buttons = list(dict.fromkeys(self.buttons))[:limit]
        if not buttons:
            return [base]
        return [[*base, b] for b in buttons]


_FILL = {"number": "1", "date": "2026-01-01", "email": "crawler@example.test", "url": "https://example.test/",
         "password": "crawler-Passw0rd!-x", "month": "2026-01", "datetime-local": "2026-01-01T10:00",
         "time": "10:00", "tel": "1"}


class PageParser(HTMLParser):
    """Collects <form>s (with plausible values for their fields), links and htmx endpoints."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: tuple[str, list[str], list[str]] | None = None
        self._option: list | None = None
        self._textarea: list | None = None
        self._radios: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        for attr in ("hx-get", "data-hx-get"):
            if a.get(attr):
                self.links.append(a[attr])
        for attr in ("hx-post", "data-hx-post"):
            if a.get(attr):
                vals = []
                try:
                    extra = json.loads(a.get("hx-vals") or "{}")
                    vals = [(str(k), str(v)) for k, v in extra.items()] if isinstance(extra, dict) else []
                except ValueError:
                    pass
                form = Form(action=a[attr], method="post", source=self.page_url)
                if self._form is not None:
                    form.fields = list(self._form.fields)
                form.fields += vals
                self.forms.append(form)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(action=a.get("action") or self.page_url, method=(a.get("method") or "get").lower(),
                              source=self.page_url)
            self._radios = set()
        elif self._form is None:
            return
        elif tag == "input":
            name, kind = a.get("name"), (a.get("type") or "text").lower()
            if not name or kind in ("file", "image", "reset"):
                return
            if kind in ("submit", "button"):
                if kind == "submit":
                    self._form.buttons.append((name, a.get("value", "")))
                return
            if kind == "radio":
                if name in self._radios and "checked" not in a:
                    return
                self._form.fields = [(n, v) for n, v in self._form.fields if n != name] if "checked" in a else self._form.fields
                self._radios.add(name)
                self._form.fields.append((name, a.get("value", "on")))
                return
            if kind == "checkbox":
                self._form.fields.append((name, a.get("value", "on")))  # every box: all rows selected
                return
            value = a.get("value", "")
            if not value and kind != "hidden":
                value = _FILL.get(kind, "crawler")
            self._form.fields.append((name, value))
        elif tag == "button":
            if (a.get("type") or "submit").lower() == "submit" and a.get("name"):
                self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = (a["name"], [], [])
        elif tag == "option" and self._select is not None:
            value = a.get("value")
            self._option = [value, "selected" in a, []]
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], []]

    def handle_data(self, data):
        if self._option is not None:
            self._option[2].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            value = value if value is not None else "".join(text).strip()
            (self._select[2] if selected else self._select[1]).append(value)
            self._option = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, options, selected = self._select
            if selected:
                self._form.fields.append((name, selected[0]))
            else:
                self._form.selects[name] = options
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            name, text = self._textarea
            self._form.fields.append((name, "".join(text).strip() or "crawler"))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def parse_page(url: str, html: str) -> tuple[list[Form], list[str]]:
    parser = PageParser(url)
    parser.feed(html)
    parser.close()
    return parser.forms, parser.links


def route_of(path: str):
    """The resolved view of a path, or None when it is not a page of ours."""
    try:
        return resolve(urlsplit(path).path)
    except Resolver404:
        return None


def link_key(url: str) -> tuple | None:
    """Links that differ only in the values of their query are one link for the crawler."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/t/"):
        return None
    match = route_of(parts.path)
    if match is None:
        return None
    return (match.view_name, tuple(sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})))


def get_form_urls(form: Form, limit: int = 8) -> list[str]:
    """A GET form as URLs: one per option of its first open choice (at most ``limit``)."""
    base = [(n, v) for n, v in form.fields]
    action = urlsplit(form.action).path
    if not form.selects:
        return [f"{action}?{urlencode(base)}"]
    name, options = next(iter(form.selects.items()))
    others = [(n, next((o for o in opts if o), "")) for n, opts in list(form.selects.items())[1:]]
    return [f"{action}?{urlencode([*base, *others, (name, o)])}" for o in options[:limit] if o]
