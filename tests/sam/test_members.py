"""The members page: admins invite people (one-time links), change roles and remove members.

Rules: the role defaults to the least privilege; a user name is validated, never cut; an existing
account joins only by accepting; the form reveals nothing about which user names exist; Remove
asks first; the last administrator keeps the role.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from sam.models import AuditEvent, Invitation, Membership, Role
from sam.services import invitation_create
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


def _invite(client, tenant, **data) -> str:
    """Post the invitation form and return the one-time link shown on the page."""
    response = client.post(_members_url(tenant), {"role": "auditor", **data})
    assert response.status_code == 200, response.content.decode()[:500]
    link = response.context["invitation_link"]
    assert link.startswith("http://testserver/invitations/")
    return link.removeprefix("http://testserver")


# --- the form ---------------------------------------------------------------------------------

def test_the_role_defaults_to_the_least_privileged_and_each_role_is_described(admin_client, tenant_a):
    response = admin_client.get(_members_url(tenant_a))
    form = response.context["form"]
    assert form["role"].value() == Role.AUDITOR
    page = response.content.decode()
    assert 'value="auditor" required id="id_role_0" checked' in page or (
        'value="auditor"' in page and "checked" in page.split('value="auditor"')[1].split(">")[0])
    assert "changes nothing" in page  # the auditor's description
    assert "members, invitations, settings" in page  # the administrator's


def test_a_300_character_user_name_is_refused_not_cut(admin_client, tenant_a):
    response = admin_client.post(_members_url(tenant_a), {"username": "u" * 300, "role": "auditor"})
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    with scope(tenant=tenant_a):
        assert not Invitation.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="uuuu").exists()


def test_a_user_name_with_spaces_is_refused(admin_client, tenant_a):
    response = admin_client.post(_members_url(tenant_a), {"username": "two words", "role": "auditor"})
    assert "username" in response.context["form"].errors


def test_the_form_no_longer_takes_a_password(admin_client, tenant_a):
    response = admin_client.get(_members_url(tenant_a))
    assert "password" not in response.context["form"].fields


def test_inviting_answers_the_same_for_existing_and_unknown_user_names(admin_client, tenant_a, cast):
    """Not a user-name oracle: b-admin exists (in tenant B), ghost does not; both get an invitation."""
    known = admin_client.post(_members_url(tenant_a), {"username": "b-admin", "role": "auditor"})
    unknown = admin_client.post(_members_url(tenant_a), {"username": "ghost", "role": "auditor"})
    assert known.status_code == unknown.status_code == 200

    def strip(resp, name):
        text = resp.content.decode()
        text = text.replace(resp.context["invitation_link"], "LINK").replace(name, "NAME")
        return text.split('<article class="invitation-link"')[1].split("</article>")[0]

    # The confirmation says the same for both (apart from the name and link).
    assert strip(known, "b-admin") == strip(unknown, "ghost")
    # And tenant B's admin was not added anywhere by this.
    assert not Membership.objects.filter(user=cast["b_admin"], tenant=tenant_a).exists()


# --- invitations --------------------------------------------------------------------------------

def test_an_invited_new_person_sets_a_password_and_joins(admin_client, tenant_a):
    client = Client()
    link = _invite(admin_client, tenant_a, username="newbie", email="n@example.test", role="license_manager")
    assert len(mail.outbox) == 1 and link in mail.outbox[0].body
    page = client.get(link)
    assert page.status_code == 200 and page.context["form"]["username"].value() == "newbie"
    response = client.post(link, {"username": "newbie", "password1": "a-long-initial-pass-42",
                                  "password2": "a-long-initial-pass-42"})
    assert response.status_code == 302 and response["Location"] == f"/t/{tenant_a.slug}/"
    user = get_user_model().objects.get(username="newbie")
    assert user.check_password("a-long-initial-pass-42") and user.email == "n@example.test"
    assert Membership.objects.get(user=user, tenant=tenant_a).role == Role.LICENSE_MANAGER
    assert client.get(f"/t/{tenant_a.slug}/").status_code == 200  # logged in
    [accepted] = _audit(tenant_a, "sam.invitation.accepted")
    assert accepted.after["new_account"] is True
    # One time only.
    client.logout()
    again = client.post(link, {"username": "other", "password1": "a-long-initial-pass-42",
                               "password2": "a-long-initial-pass-42"})
    assert again.status_code == 410 or "already used" in again.content.decode()
    assert not get_user_model().objects.filter(username="other").exists()


def test_the_password_validators_apply(admin_client, tenant_a):
    client = Client()
    link = _invite(admin_client, tenant_a, username="weak")
    client.logout()
    response = client.post(link, {"username": "weak", "password1": "passwordpassword",
                                  "password2": "passwordpassword"})
    assert response.status_code == 200
    assert "one short piece repeated" in response.content.decode()
    assert not get_user_model().objects.filter(username="weak").exists()


def test_an_existing_account_joins_only_by_accepting(admin_client, tenant_a, cast):
    client = Client()
    link = _invite(admin_client, tenant_a, username="b-admin", role="clearing")
    before = cast["b_admin"].password
    assert not Membership.objects.filter(user=cast["b_admin"], tenant=tenant_a).exists()
    # Someone without the account cannot take the name over.
    client.logout()
    taken = client.post(link, {"username": "b-admin", "password1": "a-long-initial-pass-42",
                               "password2": "a-long-initial-pass-42"})
    assert "taken" in taken.content.decode()
    cast["b_admin"].refresh_from_db()
    assert cast["b_admin"].password == before
    # The owner logs in and accepts.
    client.force_login(cast["b_admin"])
    assert "Accept and join" in client.get(link).content.decode()
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=cast["b_admin"], tenant=tenant_a).role == Role.CLEARING


def test_an_expired_or_withdrawn_invitation_does_not_work(admin_client, tenant_a, cast):
    client = Client()
    with scope(tenant=tenant_a):
        expired, token = invitation_create(tenant=tenant_a, actor=cast["admin"], username="late", role="auditor")
        expired.expires_at = timezone.now() - dt.timedelta(minutes=1)
        expired.save()
    client.force_login(cast["b_admin"])
    assert client.get(f"/invitations/{token}/").status_code == 410
    client.post(f"/invitations/{token}/")
    assert not Membership.objects.filter(user=cast["b_admin"], tenant=tenant_a).exists()

    link = _invite(admin_client, tenant_a, username="withdrawn")
    with scope(tenant=tenant_a):
        invitation = Invitation.objects.get(username="withdrawn")
    admin_client.post(reverse("invitation-revoke", kwargs={"tenant": tenant_a.slug, "pk": invitation.pk}))
    client.force_login(cast["b_admin"])
    assert client.get(link).status_code == 410
    assert client.get("/invitations/not-a-token/").status_code == 404


# --- roles, removal, the last administrator --------------------------------------------------------

def test_an_admin_changes_a_role(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["auditor"], tenant=tenant_a)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    assert admin_client.post(url, {"role": "license_manager"}).status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.LICENSE_MANAGER
    [event] = _audit(tenant_a, "sam.membership.role_changed")
    assert event.before == {"role": "auditor"} and event.after == {"role": "license_manager"}


def test_the_last_admin_cannot_be_demoted(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["admin"], tenant=tenant_a)
    url = reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    response = admin_client.post(url, {"role": "auditor"}, follow=True)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert "last administrator" in response.content.decode()
    # With a second admin, the first may step down.
    second = Membership.objects.get(user=cast["license_manager"], tenant=tenant_a)
    admin_client.post(reverse("member-change", kwargs={"tenant": tenant_a.slug, "pk": second.pk}), {"role": "admin"})
    admin_client.post(url, {"role": "auditor"})
    membership.refresh_from_db()
    assert membership.role == Role.AUDITOR


def test_remove_asks_for_confirmation_first(admin_client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["clearing"], tenant=tenant_a)
    url = reverse("member-remove", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    page = admin_client.get(url)
    assert page.status_code == 200 and "Remove a-clearing?" in page.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()  # a GET changes nothing
    admin_client.post(url)  # no confirm field: nothing happens
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert admin_client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [event] = _audit(tenant_a, "sam.membership.removed")
    assert event.before == {"user": "a-clearing", "role": "clearing"}
    admin_client.force_login(cast["clearing"])
    assert admin_client.get(f"/t/{tenant_a.slug}/").status_code == 404


def test_an_admin_cannot_remove_themselves_nor_the_last_admin(admin_client, client, tenant_a, cast):
    membership = Membership.objects.get(user=cast["admin"], tenant=tenant_a)
    url = reverse("member-remove", kwargs={"tenant": tenant_a.slug, "pk": membership.pk})
    response = admin_client.post(url, {"confirm": "yes"}, follow=True)
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "cannot remove yourself" in response.content.decode()
    assert not _audit(tenant_a, "sam.membership.removed")


def test_a_member_of_another_tenant_cannot_be_changed(admin_client, tenant_a, tenant_b, cast):
    foreign = Membership.objects.get(user=cast["b_admin"], tenant=tenant_b)
    url = reverse("member-remove", kwargs={"tenant": tenant_a.slug, "pk": foreign.pk})
    assert admin_client.post(url, {"confirm": "yes"}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_the_members_page_lists_the_tenants_members_only(admin_client, tenant_a):
    UserFactory(username="stranger")
    content = admin_client.get(_members_url(tenant_a)).content.decode()
    assert "a-auditor" in content and "b-admin" not in content and "stranger" not in content


# --- staff: a new tenant and its first admin --------------------------------------------------------

def test_staff_create_a_tenant_and_invite_its_first_admin(client, cast):
    staff = UserFactory(username="operator", is_staff=True)
    client.force_login(staff)
    response = client.post("/staff/tenants/new/", {"slug": "globex", "name": "Globex",
                                                   "admin_username": "gadmin", "admin_email": ""})
    assert response.status_code == 200
    link = response.context["invitation_link"].removeprefix("http://testserver")
    client.logout()
    client.post(link, {"username": "gadmin", "password1": "a-long-initial-pass-42",
                       "password2": "a-long-initial-pass-42"})
    assert Membership.objects.get(user__username="gadmin", tenant__slug="globex").role == Role.ADMIN


def test_only_staff_reach_the_tenant_page(client, cast):
    client.force_login(cast["admin"])
    assert client.get("/staff/tenants/new/").status_code == 403
    assert client.post("/staff/tenants/new/", {"slug": "x", "name": "x", "admin_username": "x"}).status_code == 403
