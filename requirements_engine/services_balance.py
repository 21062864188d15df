"""Writes of the compliance part: exemptions and the reconciliation checklist (audited, then recomputed)."""
from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from requirements_engine.models import Requirement
from requirements_engine.models_balance import Exemption, ReconciliationComment, ReconciliationItem
from sam.audit import actor_label, audit_record, snapshot
from sam.changes import change_record
from sam.models import ChangeKind, Tenant


def exemption_create(*, tenant: Tenant, actor, reason: str, requirement=None, device=None, person=None,
                     product=None, expires_on: dt.date | None = None) -> Exemption:
    """Exclude a requirement, or a consumer (for one product or all), from the balance – with a reason.

    The exemption is audited and the balance recomputed, so the auditor sees the decision and its effect.
    """
    if requirement is None and device is None and person is None:
        raise ValueError("an exemption needs a requirement or a consumer")
    if not (reason or "").strip():
        raise ValueError("an exemption needs a reason")
    if requirement is not None:
        subject = f"{requirement.consumer} · {requirement.product}"
    else:
        subject = f"{device or person}" + (f" · {product}" if product else " · all products")
    with transaction.atomic():
        exemption = Exemption.objects.create(
            tenant=tenant, requirement=requirement, device=device, person=person, product=product,
            subject=subject[:300], reason=reason.strip(), expires_on=expires_on,
            created_by=actor if hasattr(actor, "username") else None)
        audit_record(tenant=tenant, actor=actor, action="requirements.exemption.created", obj=exemption,
                     after=snapshot(exemption))
        _recompute(tenant=tenant, reason=f"exemption: {subject}", actor=actor, exemption=exemption)
    return exemption


def exemption_revoke(*, exemption: Exemption, actor) -> Exemption:
    """End an exemption now (kept for the audit trail, no longer applied)."""
    if exemption.revoked_at is not None:
        return exemption
    before = snapshot(exemption)
    with transaction.atomic():
        exemption.revoked_at = timezone.now()
        exemption.revoked_by = actor_label(actor)[:150]
        exemption.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(tenant=exemption.tenant, actor=actor, action="requirements.exemption.revoked", obj=exemption,
                     before=before, after=snapshot(exemption))
        _recompute(tenant=exemption.tenant, reason=f"exemption revoked: {exemption.subject}", actor=actor,
                   exemption=exemption)
    return exemption


def checklist_set(*, tenant: Tenant, actor, publisher, scope: str, key: str, done: bool) -> ReconciliationItem:
    """Tick or untick one reconciliation step of a publisher (audited)."""
    with transaction.atomic():
        item, _created = ReconciliationItem.objects.select_for_update().get_or_create(
            tenant=tenant, publisher=publisher, scope=scope, key=key)
        before = snapshot(item)
        item.done = done
        item.done_by = actor_label(actor)[:150] if done else ""
        item.done_at = timezone.now() if done else None
        item.save()
        audit_record(tenant=tenant, actor=actor, action="requirements.reconciliation.checked" if done
                     else "requirements.reconciliation.unchecked", obj=item, before=before, after=snapshot(item),
                     object_repr=f"{publisher.name} / {scope} / {key}")
    return item


def checklist_comment(*, tenant: Tenant, actor, publisher, scope: str, key: str, text: str) -> ReconciliationComment:
    """Add a team note to a publisher's reconciliation (optionally to one step; audited)."""
    if not (text or "").strip():
        raise ValueError("empty comment")
    with transaction.atomic():
        comment = ReconciliationComment.objects.create(tenant=tenant, publisher=publisher, scope=scope, key=key,
                                                       text=text.strip(), author=actor_label(actor)[:150])
        audit_record(tenant=tenant, actor=actor, action="requirements.reconciliation.commented", obj=comment,
                     after=snapshot(comment), object_repr=f"{publisher.name} / {scope} / {key or 'general'}")
    return comment


def _recompute(*, tenant: Tenant, reason: str, actor, exemption: Exemption) -> None:
    """Record the license positions the exemption touches (a change event in the caller's transaction)."""
    requirements = Requirement.objects.filter(tenant=tenant)
    if exemption.requirement_id:
        requirements = requirements.filter(pk=exemption.requirement_id)
    else:
        requirements = (requirements.filter(device_id=exemption.device_id) if exemption.device_id
                        else requirements.filter(person_id=exemption.person_id))
        if exemption.product_id:
            requirements = requirements.filter(product_id=exemption.product_id)
    positions = set(requirements.values_list("product_id", "license_model").distinct())
    change_record(tenant=tenant, kind=ChangeKind.POSITIONS, ids=positions, reason=reason, actor=actor)


#: What a scenario copy of a Default entitlement keeps: what the balance counts and the proof references.
COPY_FIELDS = ("type", "product_id", "sku", "license_model", "unlimited", "quantity", "units", "term", "start_date",
               "end_date", "version_downgrade", "version_upgrade", "edition_downgrade", "currency", "unit_cost",
               "invoice_number", "po_number", "supplier", "version_type", "secondary_use_count")


def scenario_copy_default(*, tenant: Tenant, actor, name: str = ""):
    """Copy the Default repository's counted entitlements into a new what-if repository.

    The copies are published (so the scenario counts them) and audited by the entitlements service;
    nothing in the Default changes and no recompute is requested (a scenario never feeds the real
    balance). Use the scenario with the "instead of reality" mode, then edit it freely.
    """
    from entitlements.models import Entitlement
    from entitlements.services import EntitlementError, entitlements_create_many, repository_create

    name = name or f"Copy of Default {timezone.localdate().isoformat()}"
    try:
        with transaction.atomic():
            repo = repository_create(tenant=tenant, actor=actor, name=name)
            rows = [dict(values, repository=repo) for values in
                    Entitlement.objects.filter(tenant=tenant, repository__is_default=True, status="published")
                    .order_by("id").values(*COPY_FIELDS)]
            for row in rows:
                row["product"] = row.pop("product_id")
                if row.get("start_date") is None:
                    row["start_date"] = None
            entitlements_create_many(tenant=tenant, actor=actor, rows=rows, publish=True, recompute=False)
    except EntitlementError as exc:
        raise ValueError(str(exc)) from exc
    return repo
