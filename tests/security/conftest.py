"""The receiving suite's catalog and organisation fixtures, shared with the push API tests here."""
from tests.receiving.conftest import catalog, org  # noqa: F401 - pytest fixtures
