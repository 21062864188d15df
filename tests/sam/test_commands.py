"""The shell's commands: create_tenant and seed_demo are idempotent."""
from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_scopes import scope

from sam.models import Membership, Tenant

pytestmark = pytest.mark.django_db


def _run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_create_tenant_is_idempotent():
    assert "Created: tenant acme (Acme Corp)" in _run("create_tenant", "acme", "--name", "Acme Corp")
    assert "Exists: tenant acme (Acme Corp)" in _run("create_tenant", "acme")
    assert Tenant.objects.filter(slug="acme").count() == 1
    tenant = Tenant.objects.get(slug="acme")
    from entitlements.models import Repository

    with scope(tenant=tenant):
        assert Repository.objects.filter(is_default=True).count() == 1


def test_create_tenant_renames_an_existing_tenant_when_a_name_is_given():
    _run("create_tenant", "acme", "--name", "Acme")
    _run("create_tenant", "acme", "--name", "Acme Corporation")
    assert Tenant.objects.get(slug="acme").name == "Acme Corporation"


def test_create_tenant_refuses_an_invalid_slug():
    with pytest.raises((CommandError, ValueError)):
        _run("create_tenant", "Not A Slug")
    assert not Tenant.objects.exists()


@pytest.fixture
def small_demo(monkeypatch):
    """seed_demo with the shell only: the apps' demo hooks are exercised by their own suites."""
    import sam.hooks

    monkeypatch.setitem(sam.hooks._HOOKS, "demo.seed_master", [])
    monkeypatch.setitem(sam.hooks._HOOKS, "demo.seed", [])


def test_seed_demo_prints_the_logins_and_is_idempotent(small_demo):
    first = _run("seed_demo", "--devices", "5")
    assert "Demo ready" in first
    for username in ("admin", "manager", "clearing", "auditor"):
        assert f"  {username} " in first
    assert "demo-password-2026" in first
    counts = (Tenant.objects.count(), Membership.objects.count(), get_user_model().objects.count())
    second = _run("seed_demo", "--devices", "5")
    assert "Demo ready" in second
    assert (Tenant.objects.count(), Membership.objects.count(), get_user_model().objects.count()) == counts
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"demo", "demo-subsidiary"}
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password("demo-password-2026")
    assert set(Membership.objects.filter(user=admin).values_list("role", flat=True)) == {"admin"}


def test_seed_demo_calls_every_registered_demo_hook_inside_the_tenant_scope(monkeypatch):
    import sam.hooks

    calls = []

    def seed(*, tenant, devices, log):
        from sam.models import Job

        Job.objects.count()  # raises unless the scope is active
        calls.append((tenant.slug, devices))

    monkeypatch.setitem(sam.hooks._HOOKS, "demo.seed_master", [])
    monkeypatch.setitem(sam.hooks._HOOKS, "demo.seed", [])
    sam.hooks.hook_register("demo.seed", seed)
    _run("seed_demo", "--devices", "30")
    assert calls == [("demo", 30), ("demo-subsidiary", 20)]
