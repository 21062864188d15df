"""Low findings of issue 14 that are this part's: the formula guard, API token expiry and log-in
throttling keyed against spraying. Each test fails on b7f100c.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from receiving.models import ApiToken
from receiving.services import api_token_authenticate, api_token_create
from sam.exports import cell_text, guard_formula
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", " =1+1", "\u00a0=HYPERLINK(\"x\")", "\t@SUM(A1)",
                                  "\u2007+1-2", "\u200b=1", "\ufeff-2+3", "\uff1d1+1", "\r\n=1"])
def test_the_formula_guard_sees_through_leading_spaces(text):
    assert cell_text(text).startswith("'")


@pytest.mark.parametrize("text", ["-12", "+3.5", "1e5", "plain", "a=b", "", "-", " 12"])
def test_plain_values_and_numbers_are_left_alone(text):
    if text in ("-",):
        assert guard_formula(text) == "'-"  # a lone sign is no number: guarded
    else:
        assert guard_formula(text) == text


def test_api_tokens_expire(tenant_a, settings):
    settings.SAM_API_TOKEN_DAYS = 30
    with scope(tenant=tenant_a):
        token, raw = api_token_create(tenant=tenant_a, actor="test", name="ERP")
    # expires 30 days after creation
    assert abs((token.expires_at - token.created_at) - dt.timedelta(days=30)) < dt.timedelta(seconds=5)
    assert api_token_authenticate(raw=raw) is not None
    with scope(tenant=tenant_a):
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        token.refresh_from_db()
    assert api_token_authenticate(raw=raw) is None
    assert not token.is_active and token.is_expired
    client = Client()
    response = client.post(f"/api/t/{tenant_a.slug}/receiving/lines/", data="{}", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401


def test_the_token_page_shows_the_expiry(client, cast, tenant_a):
    with scope(tenant=tenant_a):
        token, _raw = api_token_create(tenant=tenant_a, actor="test", name="ERP")
    client.force_login(cast["admin"])
    page = client.get(reverse("receiving:tokens", kwargs={"tenant": tenant_a.slug})).content.decode()
    assert "Expires" in page and token.expires_at.strftime("%Y-%m-%d") in page


@pytest.fixture
def throttle(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "throttle-test"}}
    settings.SAM_LOGIN_IP_FAILURE_LIMIT = 10
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password, ip="203.0.113.7", **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def test_spraying_many_user_names_from_one_address_is_stopped(cast, throttle):
    client = Client()
    # ten failures, each for another user name: axes (user name + address) never trips
    statuses = [_login(client, f"guess{i}", "Winter2026!").status_code for i in range(10)]
    assert statuses == [200] * 10
    # the eleventh try from that address is refused before any password is checked, even a right one
    assert _login(client, "a-admin", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    # another address is not affected
    assert _login(Client(), "a-admin", PASSWORD, ip="198.51.100.9").status_code == 302


def test_a_user_cannot_be_locked_out_from_another_address(cast, throttle):
    attacker = Client()
    for _ in range(6):
        _login(attacker, "a-admin", "wrong", ip="203.0.113.66")
    assert _login(attacker, "a-admin", PASSWORD, ip="203.0.113.66").status_code == 429
    # the user, from their own address, still gets in
    assert _login(Client(), "a-admin", PASSWORD, ip="198.51.100.20").status_code == 302
