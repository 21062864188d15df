from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Argon2 costs seconds on a loaded machine and the cast hashes five passwords per test; the
    hasher itself is tested in test_security.py against the real setting."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
