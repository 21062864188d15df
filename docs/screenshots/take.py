"""Retake the README screenshots from a running demo (``make run``): headless Chromium, one PNG per page.

Usage: ``.venv/bin/python docs/screenshots/take.py [BASE_URL]`` (default http://127.0.0.1:8000).
"""
from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: (file name, user, path)
PAGES = [
    ("dashboard.png", "admin", "/t/demo/"),
    ("balance.png", "manager", "/t/demo/requirements/balance/"),
    ("receiving-queue.png", "clearing", "/t/demo/receiving/"),
    ("clearing-workspace.png", "clearing", "/receiving/workspace/"),
    ("entitlements.png", "manager", "/t/demo/entitlements/"),
    ("settings.png", "admin", "/t/demo/settings/"),
]


def main(base: str) -> None:
    out = Path(__file__).parent
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        for name, user, path in PAGES:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", "demo-password-2026")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / name))
            print(name, page.url)
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
