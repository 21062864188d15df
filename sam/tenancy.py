"""Entering a tenant's scope. Three doors only: this middleware, the task base, the command base.

Tenant models use django-scopes' ``ScopedManager``: a query on them outside ``scope(tenant=...)``
raises ``ScopeError`` instead of returning every tenant's rows.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_scopes import scope, scopes_disabled

from sam.models import Membership, Tenant

TENANT_PATH = re.compile(r"^/t/(?P<slug>[-a-zA-Z0-9_]+)/")

__all__ = ["TenantMiddleware", "tenant_scope", "scope", "scopes_disabled"]


@contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run a block inside one tenant's scope (commands, tasks, tests)."""
    with scope(tenant=tenant):
        yield tenant


class TenantMiddleware:
    """Resolve ``/t/<slug>/`` to a tenant the user belongs to and render the response inside its scope.

    A tenant that does not exist and one the user is not a member of give the same 404, so tenant
    slugs cannot be probed. Template responses are rendered here, still inside the scope.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.membership = None
        match = TENANT_PATH.match(request.path_info)
        if not match:
            return self.get_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        membership = (
            Membership.objects.select_related("tenant")
            .filter(user=request.user, tenant__slug=match["slug"])
            .first()
        )
        if membership is None:
            raise Http404("No such tenant.")
        request.tenant = membership.tenant
        request.membership = membership
        with scope(tenant=membership.tenant):
            response = self.get_response(request)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
        return response
