"""Walk every URL pattern and build rows of any model, for the generated isolation and role tests.

New views are covered automatically: the tests read the resolver, not a list. A view that takes a
``pk`` must declare ``model = X`` (and ``kwarg_models = {"other": Y}`` for further int kwargs).
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django.views.static import serve
from django_scopes import scope, scopes_disabled

from sam.models import Membership, Tenant, TenantModel

TENANT_PREFIX = "t/<slug:tenant>/"
_PLACEHOLDER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
LARGE_ID = 987_654_321


@dataclass
class Route:
    route: str  # the full route, e.g. "t/<slug:tenant>/entitlements/<int:pk>/"
    name: str  # "entitlements:detail", or the route when unnamed
    view_class: type | None
    callback: object
    kwargs: dict[str, str] = field(default_factory=dict)  # name -> converter

    @property
    def is_tenant(self) -> bool:
        return self.route.startswith(TENANT_PREFIX)

    @property
    def int_kwargs(self) -> list[str]:
        return [k for k, conv in self.kwargs.items() if conv == "int"]

    def has(self, method: str) -> bool:
        return self.view_class is not None and hasattr(self.view_class, method)

    @property
    def examples(self) -> dict[str, str]:
        """Values for non-id kwargs (``<str:kind>``) the view declares as ``url_examples``."""
        return dict(getattr(self.view_class, "url_examples", None) or {})

    @property
    def has_unknown_kwargs(self) -> bool:
        """A str/slug kwarg (besides the tenant) the view gives no example for: "x" may be a 404."""
        return any(conv != "int" and name != "tenant" and name not in self.examples
                   for name, conv in self.kwargs.items())

    def model_for(self, kwarg: str):
        if self.view_class is None:
            return None
        if kwarg == "pk":
            return getattr(self.view_class, "model", None)
        return (getattr(self.view_class, "kwarg_models", None) or {}).get(kwarg)

    def url(self, **values) -> str:
        def sub(match):
            name, conv = match["name"], match["conv"] or "str"
            if name in values:
                return str(values[name])
            return "1" if conv == "int" else "x"

        return "/" + _PLACEHOLDER.sub(sub, self.route)

    def __str__(self) -> str:
        return self.name


def walk() -> list[Route]:
    routes: list[Route] = []

    def _walk(patterns, prefix: str, namespaces: list[str]):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = [*namespaces, p.namespace] if p.namespace else namespaces
                _walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                if p.callback is serve:  # DEBUG media serving, not an app page
                    continue
                route = prefix + str(p.pattern)
                if route.startswith("^") or "(?P" in route:
                    raise AssertionError(f"{route!r}: use path() routes so the isolation test can fill them")
                name = ":".join([*namespaces, p.name]) if p.name else route
                kwargs = {m["name"]: m["conv"] or "str" for m in _PLACEHOLDER.finditer(route)}
                routes.append(Route(route=route, name=name, view_class=getattr(p.callback, "view_class", None),
                                    callback=p.callback, kwargs=kwargs))

    _walk(get_resolver().url_patterns, "", [])
    return routes


def tenant_routes() -> list[Route]:
    return [r for r in walk() if r.is_tenant]


# ---------------------------------------------------------------------------------------------
# Rows of any model, filled with plausible values (per-model builders where that is not enough)

_counter = itertools.count(1)


def _user():
    return get_user_model().objects.get_or_create(username="row-builder")[0]


def _value(f: models.Field, tenant: Tenant | None, cache: dict):
    n = next(_counter)
    if f.choices:
        return f.choices[0][0] if not isinstance(f.choices[0][1], (list, tuple)) else f.choices[0][1][0][0]
    if isinstance(f, models.ForeignKey):
        related = f.related_model
        if related is Tenant:
            return tenant
        if related is get_user_model():
            return _user()
        if issubclass(related, TenantModel) or _has_tenant(related):
            return build_row(related, tenant, cache=cache, fresh=isinstance(f, models.OneToOneField))
        return build_row(related, None, cache=cache, fresh=isinstance(f, models.OneToOneField))
    if isinstance(f, models.EmailField):
        return f"row{n}@example.test"
    if isinstance(f, (models.CharField, models.TextField)):
        text = f"row-{tenant.slug if tenant else 'master'}-{n}"
        return text[: f.max_length] if f.max_length else text
    if isinstance(f, models.BooleanField):
        return False
    if isinstance(f, (models.IntegerField, models.PositiveIntegerField)):
        return 1
    if isinstance(f, models.DecimalField):
        return Decimal("1")
    if isinstance(f, models.FloatField):
        return 1.0
    if isinstance(f, models.DateTimeField):
        return timezone.now()
    if isinstance(f, models.DateField):
        return dt.date.today()
    if isinstance(f, models.DurationField):
        return dt.timedelta(0)
    if isinstance(f, models.UUIDField):
        return uuid.uuid4()
    if isinstance(f, models.JSONField):
        return {}
    if isinstance(f, models.FileField):
        return ""
    if isinstance(f, models.BinaryField):
        return b""
    raise TypeError(f"no value for {f.model.__name__}.{f.name} ({type(f).__name__})")


def _has_tenant(model) -> bool:
    try:
        return model._meta.get_field("tenant").related_model is Tenant
    except Exception:  # noqa: BLE001
        return False


def build_row(model, tenant: Tenant | None, *, cache: dict | None = None, fresh: bool = False):
    """One saved row of ``model`` owned by ``tenant`` (None for master tables), reused per test."""
    cache = {} if cache is None else cache
    if not _has_tenant(model):
        tenant = None  # a master table: global, owned by nobody
    key = (model, tenant.pk if tenant else None)
    if not fresh and key in cache:
        return cache[key]
    if model is Membership:
        row = Membership.objects.filter(tenant=tenant).order_by("pk").first()
        if row is None:
            row = Membership.objects.create(tenant=tenant, user=_user(), role="admin")
        cache[key] = row
        return row
    if model is Tenant:
        return tenant
    if not fresh:  # reuse a row the tenant already has (its default repository, ...)
        ctx = scope(tenant=tenant) if tenant is not None else scopes_disabled()
        with ctx:
            manager = model.objects if tenant is not None and issubclass(model, TenantModel) else model._base_manager
            existing = manager.filter(tenant=tenant).first() if tenant is not None else manager.first()
        if existing is not None:
            cache[key] = existing
            return existing
    building = cache.setdefault("_building", set())
    if key in building:
        raise RuntimeError(f"cyclic required relations through {model._meta.label}; add a builder")
    building.add(key)
    values = {}
    optional_fks = []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.auto_created:
            continue
        if f.name == "tenant" and _has_tenant(model):
            values["tenant"] = tenant
            continue
        if f.null and isinstance(f, models.ForeignKey):
            optional_fks.append(f)
            continue
        if f.has_default() or f.null or getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            continue
        if f.blank and isinstance(f, (models.CharField, models.TextField)):
            continue
        values[f.name] = _value(f, tenant, cache)
    # Check constraints ("a person or a device") may need one of the optional relations: try the
    # bare row, then each optional relation on its own.
    def attempts():
        yield values
        for f in optional_fks:
            if f.related_model is not model:
                yield {**values, f.name: _value(f, tenant, cache)}

    error = None
    for attempt in attempts():
        ctx = scope(tenant=tenant) if tenant is not None else scopes_disabled()
        try:
            with ctx, transaction.atomic():
                manager = model._base_manager if tenant is None else model.objects
                row = manager.create(**attempt)
        except IntegrityError as exc:
            error = exc
            continue
        cache[key] = row
        building.discard(key)
        return row
    building.discard(key)
    raise error


def is_tenant_owned(model) -> bool:
    return model is not None and _has_tenant(model)


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]
