"""Fixtures shared by the security tests: the receiving suite's catalog and organisation (push API
tests) and the browser session (tests/security/test_csp_browser.py)."""
from tests.browser.conftest import browser  # noqa: F401 - pytest fixture
from tests.receiving.conftest import catalog, org  # noqa: F401 - pytest fixtures
