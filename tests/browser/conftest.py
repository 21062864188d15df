"""Playwright on Debian's Chromium against pytest-django's live server.

Use the ``page`` fixture (a fresh browser context per test) and ``login(page, live_server, username)``.
Browser tests are marked ``browser``; they skip when Chromium is missing unless CI=true.
"""
from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import PASSWORD, require_server

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser():
    require_server("Chromium", bool(shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)),
                   f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    # Playwright's wait_for_function evaluates strings, which the content security policy refuses;
    # tests/security/test_csp_browser.py drives the pages with the policy enforced.
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900},
                                  accept_downloads=True, bypass_csp=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def login(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> None:
    """Save a PNG under test-results/ (handy when a test fails, and for the README)."""
    os.makedirs("test-results", exist_ok=True)
    page.screenshot(path=f"test-results/{name}.png", full_page=True)
