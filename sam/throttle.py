"""Log-in throttling against password spraying, next to django-axes.

django-axes locks one user name from one address after ``AXES_FAILURE_LIMIT`` failures (keyed on
user name + address, so nobody can lock a user out from elsewhere). Spraying many user names from
one address never trips that key, so this counts failures per address across user names and
refuses further log-ins from it (429) once ``SAM_LOGIN_IP_FAILURE_LIMIT`` is reached within
``AXES_COOLOFF_TIME``. Behind a reverse proxy set ``SAM_TRUSTED_PROXY_COUNT`` so the address is
the client's (X-Forwarded-For), not the proxy's; see docs/operations.md.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse


def _address(request: HttpRequest) -> str:
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(request) or "unknown"


def _key(request: HttpRequest) -> str:
    return f"sam:login-failures:{_address(request)}"


def _window() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    hours = cooloff.total_seconds() / 3600 if isinstance(cooloff, dt.timedelta) else float(cooloff or 0.25)
    return max(60, int(hours * 3600))


def login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """``user_login_failed`` receiver: count the failure against the client's address."""
    if request is None or not getattr(settings, "SAM_LOGIN_IP_FAILURE_LIMIT", 0):
        return
    key = _key(request)
    if not cache.add(key, 1, timeout=_window()):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=_window())


def address_blocked(request: HttpRequest) -> bool:
    limit = int(getattr(settings, "SAM_LOGIN_IP_FAILURE_LIMIT", 0) or 0)
    return bool(limit) and int(cache.get(_key(request)) or 0) >= limit


def spray_guard(view: Callable) -> Callable:
    """Wrap the log-in view: a POST from an address over the limit gets 429 without a password check."""

    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST" and address_blocked(request):
            return TemplateResponse(request, settings.AXES_LOCKOUT_TEMPLATE, {"spray": True}, status=429)
        return view(request, *args, **kwargs)

    return wrapped
