"""Production settings refuse unsafe configurations; log-ins are throttled; CSRF and Argon2 hold."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

GOOD_KEY = "k" * 20 + "-production-secret-0123456789"


def _django_setup(env: dict, code: str = "") -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    full_env.update({"DJANGO_SETTINGS_MODULE": "sam.settings", **env})
    script = "import django; django.setup()\n" + code
    return subprocess.run([sys.executable, "-c", script], env=full_env, capture_output=True, text=True,
                          cwd=settings.BASE_DIR, timeout=60)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"DEBUG": "true", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "sam.example"}, "DEBUG"),
        ({"ALLOWED_HOSTS": "sam.example"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short", "ALLOWED_HOSTS": "sam.example"}, "SECRET_KEY"),
        ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS"),
    ],
    ids=["debug", "missing-key", "short-key", "no-hosts", "blank-hosts"],
)
def test_production_refuses_unsafe_settings(env, complaint):
    result = _django_setup({"SAM_ENV": "production", **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_production_sets_secure_cookies_and_hsts_when_configured():
    code = (
        "from django.conf import settings as s\n"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_CONTENT_TYPE_NOSNIFF, s.ALLOWED_HOSTS)\n"
    )
    result = _django_setup({"SAM_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "sam.example"}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False True True 31536000 True True ['sam.example']"


def test_development_runs_without_any_configuration():
    result = _django_setup({"SAM_ENV": "development"}, "from django.conf import settings as s; print(s.DEBUG)")
    assert result.returncode == 0, result.stderr


def test_the_password_hasher_is_argon2(db, settings):
    from sam import settings as configured

    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS  # the suite swaps in a fast hasher
    assert get_hasher().algorithm == "argon2"
    from tests.factories import UserFactory

    user = UserFactory(username="hashed")
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_the_sixth_wrong_password_meets_a_locked_account(client, cast):
    url = reverse("login")
    assert settings.AXES_FAILURE_LIMIT == 5
    statuses = [client.post(url, {"username": "a-admin", "password": "wrong"}).status_code for _ in range(5)]
    # Four failures show the form again; the fifth locks the account.
    assert statuses == [200, 200, 200, 200, 429]
    sixth = client.post(url, {"username": "a-admin", "password": "wrong"})
    assert sixth.status_code == 429
    assert "Too many failed log-ins" in sixth.content.decode()
    # Even the right password is refused while locked.
    again = client.post(url, {"username": "a-admin", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session
    # Other accounts are not affected.
    assert client.post(url, {"username": "a-auditor", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_a_post_without_csrf_token_is_refused(cast, tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast["admin"])
    response = client.post(reverse("members", kwargs={"tenant": tenant_a.slug}),
                           {"username": "intruder", "role": "admin"})
    assert response.status_code == 403
    from sam.models import Membership

    assert not Membership.objects.filter(user__username="intruder").exists()
