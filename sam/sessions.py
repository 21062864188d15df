"""Idle session timeout: a session unused for ``SAM_SESSION_IDLE_SECONDS`` ends at its next request.

The last-seen time is written at log-in and then at most once a minute, so a burst of requests
does not write the session table on every request (and pinned query counts stay as they are).
"""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

SEEN_KEY = "sam_last_seen"
TOUCH_EVERY_S = 60


@receiver(user_logged_in, dispatch_uid="sam.sessions.seen_at_login")
def _seen_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SEEN_KEY] = int(time.time())


class IdleSessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(SEEN_KEY)
            if seen is not None and now - int(seen) > settings.SAM_SESSION_IDLE_SECONDS:
                logout(request)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if seen is None or now - int(seen) >= TOUCH_EVERY_S:
                request.session[SEEN_KEY] = now
        return self.get_response(request)
