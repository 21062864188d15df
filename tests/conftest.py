"""Fixtures shared by every suite: the fixed cast of the isolation tests and scope helpers."""
from __future__ import annotations

import os

import pytest
from django_scopes import scope, scopes_disabled

from sam.models import Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory

PASSWORD = "correct horse battery staple"


def require_server(name: str, available: bool, reason: str) -> None:
    """Skip when a server is missing on a developer machine; under CI=true a missing server fails."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{name} is required under CI=true: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture
def tenant_a(db):
    return TenantFactory(slug="tenant-a", name="Tenant A")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(slug="tenant-b", name="Tenant B")


@pytest.fixture
def cast(db, tenant_a, tenant_b):
    """Tenant A admin, license manager, clearing clerk and auditor; tenant B admin."""
    users = {}
    for role in Role.values:
        user = UserFactory(username=f"a-{role}")
        MembershipFactory(user=user, tenant=tenant_a, role=role)
        users[role] = user
    b_admin = UserFactory(username="b-admin")
    MembershipFactory(user=b_admin, tenant=tenant_b, role=Role.ADMIN)
    users["b_admin"] = b_admin
    return users


@pytest.fixture
def in_tenant_a(tenant_a):
    with scope(tenant=tenant_a):
        yield tenant_a


@pytest.fixture
def unscoped():
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Argon2 costs seconds per password on a loaded 2-core machine and the cast hashes five.

    The real hasher is asserted in tests/sam/test_security.py, which restores the configured list.
    """
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
