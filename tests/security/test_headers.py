"""Headers, cookies and sessions: CSP with nonces, secure cookies and HSTS in production, idle timeout,
and the /healthz probe."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from sam.sessions import SEEN_KEY

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [p for p in ROOT.glob("*/templates") if ".venv" not in str(p)] + [ROOT / "templates"]


def _templates():
    for base in TEMPLATE_DIRS:
        yield from base.rglob("*.html")


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_no_template_has_an_inline_event_handler_or_a_script_without_the_nonce():
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
    inline = re.compile(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", re.I)
    problems = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        problems += [f"{path.relative_to(ROOT)}: inline handler {m.group(0)[:60]!r}" for m in handler.finditer(text)]
        problems += [f"{path.relative_to(ROOT)}: <{m.group(1)}> without nonce" for m in inline.finditer(text)
                     if "csp_nonce" not in m.group(2)]
    assert not problems, "\n".join(problems)


def test_pages_send_a_strict_policy_and_inline_blocks_carry_its_nonce(client, cast, tenant_a):
    client.force_login(cast["admin"])
    for name in ("entitlements:list", "receiving:queue", "requirements:balance-dashboard"):
        response = client.get(reverse(name, kwargs={"tenant": tenant_a.slug}))
        assert response.status_code == 200, name
        policy = _csp(response)
        assert policy["default-src"] == "default-src 'self'"
        assert policy["object-src"] == "object-src 'none'"
        assert policy["frame-ancestors"] == "frame-ancestors 'none'"
        assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
        nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
        html = response.content.decode()
        blocks = [attrs for attrs in re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
                  if "application/json" not in attrs]  # json_script data is not run
        assert blocks, f"{name}: expected an inline script to check"
        assert all(f'nonce="{nonce}"' in attrs for attrs in blocks), (name, blocks)
        assert "http://" not in policy["script-src"] and "https://" not in policy["script-src"]  # no CDN
    # A second response gets another nonce.
    again = client.get(reverse("entitlements:list", kwargs={"tenant": tenant_a.slug}))
    assert re.search(r"'nonce-([^']+)'", _csp(again)["script-src"]).group(1) != nonce


def test_cookies_are_http_only_and_same_site_lax(client):
    response = client.get(reverse("login"))
    csrf = response.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


PRODUCTION_PROBE = r"""
import json, django
from django.test.utils import override_settings
django.setup()
from django.conf import settings
from django.test import Client
simple = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
          "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(STORAGES=simple):
    plain = Client().get("/accounts/login/")
    secure = Client().get("/accounts/login/", secure=True)
cookie = secure.cookies[settings.CSRF_COOKIE_NAME]
print(json.dumps({
    "debug": settings.DEBUG, "plain_status": plain.status_code, "plain_location": plain.get("Location", ""),
    "hsts": secure.get("Strict-Transport-Security", ""), "csp": secure.get("Content-Security-Policy", ""),
    "csrf_cookie": settings.CSRF_COOKIE_NAME, "session_cookie": settings.SESSION_COOKIE_NAME,
    "csrf_secure": bool(cookie["secure"]), "csrf_httponly": bool(cookie["httponly"]),
    "csrf_samesite": cookie["samesite"], "session_secure": settings.SESSION_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY, "idle": settings.SAM_SESSION_IDLE_SECONDS,
}))
"""


def test_production_mode_sends_secure_cookies_hsts_and_redirects_to_https(tmp_path):
    env = {**os.environ, "SAM_ENV": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SAM_VAR_DIR": str(tmp_path),
           "SAM_SESSION_IDLE_MINUTES": "15", "DJANGO_SETTINGS_MODULE": "sam.settings"}
    env.pop("DEBUG", None)
    out = subprocess.run([sys.executable, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["debug"] is False
    assert probe["plain_status"] == 301 and probe["plain_location"].startswith("https://")
    assert probe["hsts"].startswith("max-age=31536000") and "includeSubDomains" in probe["hsts"]
    assert "script-src 'self'" in probe["csp"] and "unsafe-inline'; script" not in probe["csp"]
    assert probe["csrf_cookie"] == "__Host-csrftoken" and probe["session_cookie"] == "__Host-sessionid"
    assert probe["csrf_secure"] and probe["csrf_httponly"] and probe["csrf_samesite"] == "Lax"
    assert probe["session_secure"] and probe["session_httponly"]
    assert probe["idle"] == 15 * 60


def test_an_idle_session_ends_and_an_active_one_goes_on(client, cast, tenant_a):
    url = reverse("dashboard", kwargs={"tenant": tenant_a.slug})
    client.force_login(cast["admin"])
    assert client.get(url).status_code == 200
    session = client.session
    session[SEEN_KEY] = int(time.time()) - settings.SAM_SESSION_IDLE_SECONDS + 120  # active 28 min ago
    session.save()
    assert client.get(url).status_code == 200
    assert client.session[SEEN_KEY] >= int(time.time()) - 5  # the request counted as activity
    session = client.session
    session[SEEN_KEY] = int(time.time()) - settings.SAM_SESSION_IDLE_SECONDS - 1  # idle 30 min + 1 s
    session.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get(url).status_code == 302  # logged out for good, not just this once


def test_the_idle_clock_is_written_at_most_once_a_minute(client, cast, tenant_a, django_assert_max_num_queries):
    url = reverse("dashboard", kwargs={"tenant": tenant_a.slug})
    client.force_login(cast["admin"])
    client.get(url)
    with django_assert_max_num_queries(100) as first:
        client.get(url)
    writes = [q["sql"] for q in first.captured_queries if q["sql"].startswith("UPDATE \"django_session\"")]
    assert writes == []


def test_healthz_answers_without_log_in_and_names_no_tenant(client, tenant_a):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] in ("ok", "inline")
    assert tenant_a.slug not in response.content.decode() and not response.cookies
    assert response["Cache-Control"] == "no-store"


def test_healthz_says_503_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["checks"]["broker"]["status"].startswith("error: ")
    assert body["checks"]["database"]["status"] == "ok"
