"""A license manager's decisions on requirements: confirm, mark not authorised, enter by hand.

Licensing rules (reference, "Confirmation"): requirements the system creates should be confirmed
by a responsible person; only confirmed requirements count in the balance. The decision is kept
across recomputes (``confirmed_by`` marks it as a person's). Requirements entered by hand need no
confirmation and the engine never changes them (no assignment mapping, no foundations).
Every change is audited in the same transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product
from inventory.models import Device, Person
from requirements_engine.models import ConfirmationState, ConsumerType, Requirement, consumer_key_of
from sam.audit import actor_label, audit_record, snapshot
from sam.changes import change_record
from sam.models import ChangeKind, Tenant

AUDITED = ("confirmation", "confirmed_by", "quantity", "license_model", "manual", "note", "device", "person",
           "product")


def _decide(*, tenant: Tenant, requirement_ids: Iterable[int], actor, state: str, action: str,
            note: str = "") -> int:
    ids = sorted({int(i) for i in requirement_ids})
    if not ids:
        return 0
    label = actor_label(actor)[:150]
    now = timezone.now()
    changed = 0
    with transaction.atomic():
        rows = list(Requirement.objects.select_for_update(of=("self",)).filter(tenant=tenant, id__in=ids)
                    .select_related("device", "person", "product"))
        for req in rows:
            if req.confirmation == state and req.confirmed_by:
                continue
            before = snapshot(req, AUDITED)
            req.confirmation, req.confirmed_by, req.confirmed_at = state, label, now
            if note:
                req.note = note[:300]
            changed += 1
            audit_record(tenant=tenant, actor=actor, action=action, obj=req, before=before,
                         after=snapshot(req, AUDITED))
        Requirement.objects.bulk_update(rows, ["confirmation", "confirmed_by", "confirmed_at", "note"],
                                        batch_size=500)
        if changed:
            _recompute(tenant=tenant, reason=action, positions=[(r.product_id, r.license_model) for r in rows])
    return changed


def _recompute(*, tenant: Tenant, reason: str, positions: Iterable[tuple[int, str]]) -> None:
    """Record the license positions whose demand changed (a change event in the caller's transaction)."""
    change_record(tenant=tenant, kind=ChangeKind.POSITIONS, ids=positions, reason=reason)


def requirements_confirm(*, tenant: Tenant, requirement_ids: Iterable[int], actor) -> int:
    """Confirm requirements (they then count in the balance); returns how many changed."""
    return _decide(tenant=tenant, requirement_ids=requirement_ids, actor=actor, state=ConfirmationState.CONFIRMED,
                   action="requirements.requirement.confirmed")


def requirements_mark_unauthorised(*, tenant: Tenant, requirement_ids: Iterable[int], actor, note: str = "") -> int:
    """Mark deployments as not authorised (removal requested): they stay visible but never count."""
    return _decide(tenant=tenant, requirement_ids=requirement_ids, actor=actor,
                   state=ConfirmationState.UNAUTHORISED, action="requirements.requirement.unauthorised",
                   note=note or _("removal requested"))


def requirement_manual_save(*, tenant: Tenant, actor, product: Product, quantity: Decimal, license_model: str,
                            device: Device | None = None, person: Person | None = None, note: str = "",
                            requirement: Requirement | None = None) -> Requirement:
    """Create or edit a manual requirement: the quantity as typed, no assignment mapping.

    Editing an automatic requirement turns it manual (the engine leaves it alone from then on).
    A second requirement for the same consumer × product is refused.
    """
    if (device is None) == (person is None):
        raise ValidationError(_("Choose either a device or a person."))
    if quantity is None or quantity < 0:
        raise ValidationError(_("The quantity cannot be negative."))
    key = consumer_key_of(device.pk if device else None, person.pk if person else None)
    clash = Requirement.objects.filter(tenant=tenant, consumer_key=key, product=product)
    if requirement is not None:
        clash = clash.exclude(pk=requirement.pk)
    if clash.exists():
        raise ValidationError(_("This consumer already has a requirement for this product; edit that one."))
    with transaction.atomic():
        before = snapshot(requirement, AUDITED) if requirement is not None else None
        req = requirement or Requirement(tenant=tenant)
        req.consumer_type = ConsumerType.DEVICE if device else ConsumerType.PERSON
        req.device, req.person, req.product = device, person, product
        req.quantity, req.license_model, req.note = quantity, license_model, note[:300]
        req.manual = True
        # Manually defined requirements need no confirmation.
        req.confirmation, req.confirmed_by, req.confirmed_at = (ConfirmationState.CONFIRMED, actor_label(actor)[:150],
                                                                timezone.now())
        req.is_secondary, req.error, req.effective = False, "", True
        req.expression, req.expression_values, req.core_factor = "", {}, None
        req.save()
        audit_record(tenant=tenant, actor=actor,
                     action="requirements.requirement.updated" if before else "requirements.requirement.created",
                     obj=req, before=before, after=snapshot(req, AUDITED))
        positions = [(req.product_id, req.license_model)]
        if before:
            positions.append((before["product"], before["license_model"]))
        _recompute(tenant=tenant, reason="manual requirement saved", positions=positions)
    return req


def requirement_manual_delete(*, tenant: Tenant, actor, requirement: Requirement) -> None:
    """Delete a manual requirement (automatic ones come and go with their foundations)."""
    if not requirement.manual:
        raise ValidationError(_("Only manual requirements can be deleted; automatic ones follow their foundations."))
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="requirements.requirement.deleted", obj=requirement,
                     before=snapshot(requirement, AUDITED))
        requirement.delete()
        _recompute(tenant=tenant, reason="manual requirement deleted",
                   positions=[(requirement.product_id, requirement.license_model)])
