"""Services of the shell: tenants, memberships, invitations and the tenant settings."""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from sam.changes import change_record
from sam.hooks import hook_run
from sam.models import ChangeKind, Invitation, Membership, Role, Tenant


def tenant_create(*, slug: str, name: str = "") -> tuple[Tenant, bool]:
    """Create a tenant (idempotent by slug) and run the ``tenant.created`` hooks on it.

    The hooks run on every call, so they are idempotent themselves: entitlements registers the one
    that creates the tenant's Default repository.
    """
    clean_slug = slugify(slug)
    if not clean_slug or clean_slug != slug:
        raise ValueError(f"{slug!r} is not a valid slug (lowercase letters, digits and hyphens).")
    with transaction.atomic():
        tenant, created = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        if not created and name and tenant.name != name:
            tenant.name = name
            tenant.save(update_fields=["name"])
        with scope(tenant=tenant):
            hook_run("tenant.created", tenant=tenant)
    return tenant, created


def membership_grant(*, tenant: Tenant, user, role: str) -> Membership:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
    return membership


# ---------------------------------------------------------------------------------------------
# Members and invitations

class MembershipError(ValueError):
    """A membership change the rules refuse (the message says why)."""


def _admin_count(*, tenant: Tenant) -> int:
    return Membership.objects.filter(tenant=tenant, role=Role.ADMIN).count()


def membership_change_role(*, membership: Membership, actor, role: str) -> Membership:
    """Give a member another role. Audited. The tenant's last administrator cannot be demoted."""
    from sam.audit import audit_record

    if role not in Role.values:
        raise MembershipError(_("Unknown role %(role)s.") % {"role": role})
    with transaction.atomic():
        # Lock the tenant's admin rows so two concurrent demotions cannot both pass the check.
        list(Membership.objects.select_for_update().filter(tenant=membership.tenant, role=Role.ADMIN))
        membership.refresh_from_db()
        before = membership.role
        if before == role:
            return membership
        if before == Role.ADMIN and _admin_count(tenant=membership.tenant) <= 1:
            raise MembershipError(_("%(user)s is the last administrator; make someone else an administrator first.")
                                  % {"user": membership.user.username})
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(tenant=membership.tenant, actor=actor, action="sam.membership.role_changed", obj=membership,
                     before={"role": before}, after={"role": role})
    return membership


def membership_remove(*, membership: Membership, actor) -> None:
    """End a membership. Audited. Nobody removes themselves, and the last administrator stays."""
    from sam.audit import audit_record

    if getattr(actor, "pk", None) == membership.user_id:
        raise MembershipError(_("You cannot remove yourself."))
    with transaction.atomic():
        list(Membership.objects.select_for_update().filter(tenant=membership.tenant, role=Role.ADMIN))
        membership.refresh_from_db()
        if membership.role == Role.ADMIN and _admin_count(tenant=membership.tenant) <= 1:
            raise MembershipError(_("%(user)s is the last administrator and cannot be removed.")
                                  % {"user": membership.user.username})
        audit_record(tenant=membership.tenant, actor=actor, action="sam.membership.removed", obj=membership,
                     before={"user": membership.user.username, "role": membership.role})
        membership.delete()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_create(*, tenant: Tenant, actor, username: str, role: str, email: str = "") -> tuple[Invitation, str]:
    """Create a one-time invitation and return it with its secret token (shown once, never stored).

    The invitation says nothing about whether ``username`` exists anywhere: an existing account
    joins only when its owner opens the link, logs in and accepts; a new person chooses a password
    there. Audited.
    """
    from sam.audit import audit_record

    if role not in Role.values:
        raise MembershipError(_("Unknown role %(role)s.") % {"role": role})
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(tenant=tenant, token_hash=_token_hash(token), username=username,
                                               email=email, role=role,
                                               invited_by=actor if getattr(actor, "pk", None) else None)
        audit_record(tenant=tenant, actor=actor, action="sam.invitation.created", obj=invitation,
                     after={"username": username, "email": email, "role": role,
                            "expires_at": invitation.expires_at})
    return invitation, token


def invitation_send(*, invitation: Invitation, link: str) -> bool:
    """Mail the link when the invitation has an e-mail address; True when a mail went out."""
    from django.core.mail import send_mail

    if not invitation.email:
        return False
    subject = _("You are invited to %(tenant)s") % {"tenant": invitation.tenant.name}
    body = _("Open this link to join %(tenant)s as %(role)s (valid until %(until)s, once):\n\n%(link)s\n") % {
        "tenant": invitation.tenant.name, "role": invitation.get_role_display(),
        "until": invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"), "link": link}
    try:
        return bool(send_mail(subject, body, None, [invitation.email]))
    except OSError:  # no mail server here: the admin still has the link on screen
        return False


def invitation_by_token(*, token: str) -> Invitation | None:
    """The invitation a link names, whatever its state, or None.

    The link is opened outside any tenant (the person is not a member yet), so this is one of the
    few reviewed reads without a tenant scope: it matches a 256-bit token's hash and nothing else.
    """
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        return Invitation.objects.select_related("tenant").filter(token_hash=_token_hash(token)).first()


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Withdraw an open invitation; its link stops working. Audited."""
    from sam.audit import audit_record

    with transaction.atomic():
        if invitation.accepted_at or invitation.revoked_at:
            return
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(tenant=invitation.tenant, actor=actor, action="sam.invitation.revoked", obj=invitation,
                     before={"username": invitation.username, "role": invitation.role})


def invitation_accept(*, token: str, user=None, username: str = "", password: str = "") -> Membership:
    """Use an invitation once: ``user`` (logged in) joins, or a new account ``username``/``password`` is made.

    Raises ``MembershipError`` when the link is unknown, used, revoked or expired, when the person is
    already a member, or when the new user name is taken; ``ValidationError`` when the password
    fails the password validators. Audited in the tenant, with the invitation marked used.
    """
    from django.contrib.auth.password_validation import validate_password

    from sam.audit import audit_record

    User = get_user_model()
    found = invitation_by_token(token=token)
    if found is None:
        raise MembershipError(_("This invitation link is not valid."))
    tenant = found.tenant
    with transaction.atomic(), scope(tenant=tenant):
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        if not invitation.is_open:
            raise MembershipError(_("This invitation was already used, was withdrawn or has expired. "
                                    "Ask your administrator for a new one."))
        created = False
        if user is None:
            username = (username or "").strip()
            if not username:
                raise MembershipError(_("Choose a user name."))
            if User.objects.filter(username__iexact=username).exists():
                raise MembershipError(_("This user name is taken. If it is yours, log in first and accept then."))
            user = User(username=username, email=invitation.email)
            validate_password(password, user)
            user.set_password(password)
            user.save()
            created = True
        if Membership.objects.filter(tenant=tenant, user=user).exists():
            raise MembershipError(_("You are already a member of %(tenant)s.") % {"tenant": tenant.name})
        membership = Membership.objects.create(tenant=tenant, user=user, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(tenant=tenant, actor=user, action="sam.invitation.accepted", obj=invitation,
                     after={"user": user.username, "role": invitation.role, "new_account": created})
        audit_record(tenant=tenant, actor=user, action="sam.membership.created", obj=membership,
                     after={"user": user.username, "role": membership.role})
    return membership


def tenant_create_with_admin(*, slug: str, name: str, admin_username: str, admin_email: str = "",
                             actor=None) -> tuple[Tenant, Invitation, str]:
    """Staff: create a tenant and invite its first administrator (the link is returned once)."""
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise MembershipError(_("A tenant with the slug %(slug)s exists already.") % {"slug": slug})
        tenant, _created = tenant_create(slug=slug, name=name)
        with scope(tenant=tenant):
            invitation, token = invitation_create(tenant=tenant, actor=actor, username=admin_username,
                                                  email=admin_email, role=Role.ADMIN)
    return tenant, invitation, token


# ---------------------------------------------------------------------------------------------
# Settings that decide the numbers

def normalise_statuses(values: Iterable[str]) -> list[str]:
    """Statuses as a person typed them, trimmed, single-spaced, without case-insensitive repeats."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in values:
        text = " ".join(str(raw).split())
        if text and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text)
    return out


def tenant_settings_update(*, tenant: Tenant, actor, relevant_statuses: Iterable[str] | None = None,
                           require_proof: bool | None = None) -> Tenant:
    """Change the tenant settings the engine's numbers depend on. Audited; asks for what follows.

    ``relevant_statuses``: the asset statuses that make a device relevant (compared
    case-insensitively; at least one). ``require_proof``: whether an entitlement needs a proof of
    purchase (invoice, PO, licensor number, purchase line or document) to be valid.
    A change of statuses asks the engine for a recompute; a change of the proof switch validates
    every entitlement again and then asks for a recompute (an invalid entitlement covers nothing).
    ``None`` leaves a setting as it is.
    """
    from sam.audit import audit_record

    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = {"relevant_device_statuses": list(tenant.relevant_device_statuses or []),
                  "entitlements_require_proof": bool(tenant.setting("entitlements_require_proof", False))}
        after = dict(before)
        if relevant_statuses is not None:
            statuses = normalise_statuses(relevant_statuses)
            if not statuses:
                raise ValueError(_("Name at least one relevant status."))
            after["relevant_device_statuses"] = statuses
        if require_proof is not None:
            after["entitlements_require_proof"] = bool(require_proof)
        if after == before:
            return tenant
        tenant.relevant_device_statuses = after["relevant_device_statuses"]
        tenant.settings = {**(tenant.settings or {}), "entitlements_require_proof": after["entitlements_require_proof"]}
        tenant.save(update_fields=["relevant_device_statuses", "settings"])
        audit_record(tenant=tenant, actor=actor, action="sam.settings.changed", object_type="sam.tenant",
                     object_id=str(tenant.pk), object_repr=str(tenant),
                     before={k: v for k, v in before.items() if after[k] != v},
                     after={k: v for k, v in after.items() if before[k] != v})
    proof_changed = before["entitlements_require_proof"] != after["entitlements_require_proof"]
    with scope(tenant=tenant), transaction.atomic():
        if proof_changed:
            # The apps that validate against the switch (entitlements) register for it.
            hook_run("settings.proof_changed", tenant=tenant)
        reason = "relevant statuses changed" if not proof_changed else "settings changed"
        change_record(tenant=tenant, kind=ChangeKind.FULL, reason=reason, actor=actor)
    return tenant
