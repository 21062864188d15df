"""The browser session fixture for tests/security/test_csp_browser.py (shared with tests/browser)."""
from tests.browser.conftest import browser  # noqa: F401
