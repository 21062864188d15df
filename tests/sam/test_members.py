"""The members page: admins add people (new or existing users), change roles and remove members."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_scopes import scope

from sam.models import AuditEvent, Membership, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast["admin"])
    return client


def _members_url(tenant):
    return reverse("members", kwargs={"tenant": tenant.slug})


def _audit(tenant, action):
    with scope(tenant=tenant):
        return list(AuditEvent.objects.filter(action=action))


def test_an_admin_adds_a_new_user_who_can_log_in(admin_client, tenant_a):
    response = admin_client.post(_members_url(tenant_a), {"username": "newbie", "email": "n@example.test",
                                                          "password": "a-long-initial-password", "role": "auditor"})
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newbie")
    assert user.check_password("a-long-initial-password")
    assert Membership.objects.get(user=user, tenant=tenant_a).role == Role.AUDITOR
    [event] = _audit(tenant_a, "sam.membership.created")
    assert event.after == {"user": "newbie", "role": "auditor"} and event.actor_label == "a-admin"


def test_a_new_user_needs_an_initial_password(admin_client, tenant_a):
    response = admin_client.post(_members_url(tenant_a), {"username": "nopass", "role": "auditor"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="nopass").exists()


def test_an_existing_user_is_added_without_touching_the_password(admin_client, tenant_a, tenant_b, cast):
    before = cast["b_admin"].password
    response = admin_client.post(_members_url(tenant_a), {"username": "b-admin", "role": "clearing",
                                                          "password": "ignored-for-existing"})
    assert response.status_code == 302
    cast["b_admin"].refresh_from_db()
    assert cast["b_admin"].password == before
    assert Membership.objects.get(user=cast["b_admin"], tenant=tenant_a).role == Role.CLEARING
    assert Membership.objects.get(user=cast["b_admin"], tenant=tenant_b).role == Role.ADMIN


def test_adding_a_member_twice_is_an_error_on_the_form(admin_client, tenant_a):
    response = admin_client.post(_members_url(tenant_a), {"username": "a-auditor", "role": "admin"})
    assert response.status_code == 200
    assert "already a member" in response.content.decode()
    assert Membership.objects.get(user__username="a-auditor", tenant=tenant_a).role == Role.AUDITOR


def test_an_admin_changes_a_role(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["auditor"], tenant=tenant_a)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    assert admin_client.post(url, {"role": "license_manager"}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.LICENSE_MANAGER
    [event] = _audit(tenant_a, "sam.membership.role_changed")
    assert event.before == {"role": "auditor"} and event.after == {"role": "license_manager"}


def test_an_admin_removes_a_member(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["clearing"], tenant=tenant_a)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    assert admin_client.post(url, {"action": "remove"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [event] = _audit(tenant_a, "sam.membership.removed")
    assert event.before == {"user": "a-clearing", "role": "clearing"}
    # The removed member no longer reaches the tenant.
    admin_client.force_login(cast["clearing"])
    assert admin_client.get(f"/t/{tenant_a.slug}/").status_code == 404


def test_an_admin_cannot_remove_themselves(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["admin"], tenant=tenant_a)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    response = admin_client.post(url, {"action": "remove"}, follow=True)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "cannot remove yourself" in response.content.decode()
    assert not _audit(tenant_a, "sam.membership.removed")


def test_a_member_of_another_tenant_cannot_be_changed(admin_client, tenant_a, tenant_b, cast):
    foreign = Membership.objects.get(user=cast["b_admin"], tenant=tenant_b)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": foreign.pk})
    assert admin_client.post(url, {"action": "remove"}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_the_members_page_lists_the_tenants_members_only(admin_client, tenant_a):
    UserFactory(username="stranger")
    content = admin_client.get(_members_url(tenant_a)).content.decode()
    assert "a-auditor" in content and "b-admin" not in content and "stranger" not in content
