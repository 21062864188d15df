"""Changes to the estate by hand: edit and retire devices and persons, audited, kept across imports.

The rule for a hand edit and the next import (``docs/inventory.md``): when a person changes a
field, the row remembers that the field was edited by hand and the value the import had set
(``edited_fields = {field: import value}``). A later import that sends that same value again has
not changed the field, so the hand value stays. An import that sends a different value has news:
the import's value wins and the field is no longer marked as edited. A column the file does not
have touches nothing.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models, transaction

from inventory.models import Device, Person, PersonStatus
from sam.audit import audit_record, snapshot
from sam.changes import changes_record
from sam.models import Tenant

DEVICE_EDITABLE = ("kind", "role", "status", "power", "processors", "cores_per_processor", "threads", "vcpus",
                   "processor_model", "ram_gb", "primary_user_id")
PERSON_EDITABLE = ("email", "name", "status", "cost_center_id")
RETIRED_STATUS = "retired"


def comparable(value: Any) -> Any:
    """A field value as stored in ``edited_fields`` (JSON) and compared with what an import sends."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, models.Model):
        return value.pk
    if value == "":
        return ""
    return value


def _apply_edit(*, obj: models.Model, editable: tuple[str, ...], data: dict[str, Any]) -> dict[str, tuple]:
    """Set the changed fields on ``obj`` and mark them hand-edited; return {field: (before, after)}."""
    changes: dict[str, tuple] = {}
    edited = dict(obj.edited_fields or {})
    for name in editable:
        if name not in data:
            continue
        old, new = getattr(obj, name), data[name]
        if comparable(old) == comparable(new):
            continue
        # Keep the value the import set before the *first* hand edit: a second edit is still a hand edit.
        edited.setdefault(name, comparable(old))
        setattr(obj, name, new)
        changes[name] = (old, new)
    obj.edited_fields = edited
    return changes


def _recompute(*, tenant: Tenant, actor: Any, reason: str, changed: dict[str, list[int]]) -> None:
    """Record the consumers that changed (a change event in the caller's transaction)."""
    changes_record(tenant=tenant, changed=changed, reason=reason, actor=actor)


def device_update(*, device: Device, actor: Any, data: dict[str, Any]) -> Device:
    """Change a device's fields by hand (keys: ``DEVICE_EDITABLE``). Audited; the engine recomputes it.

    The edited fields are kept across later imports until an import changes them (module docstring).
    """
    with transaction.atomic():
        device = Device.objects.select_for_update().get(pk=device.pk)
        before = snapshot(device)
        changes = _apply_edit(obj=device, editable=DEVICE_EDITABLE, data=data)
        if not changes:
            return device
        device.full_clean(exclude=["tenant"], validate_unique=False)
        device.save()
        device.refresh_from_db()  # the stored values (decimal places) for the audit row
        names = {c.removesuffix("_id") for c in changes}
        audit_record(tenant=device.tenant, actor=actor, action="inventory.device.edited", obj=device,
                     before={k: v for k, v in before.items() if k in names},
                     after={k: v for k, v in snapshot(device).items() if k in names})
        _recompute(tenant=device.tenant, actor=actor, reason="device edited", changed={"devices": [device.pk]})
    return device


def device_retire(*, device: Device, actor: Any) -> Device:
    """Retire a device: its asset status becomes ``retired`` (not relevant), as a hand edit."""
    return device_update(device=device, actor=actor, data={"status": RETIRED_STATUS})


def person_update(*, person: Person, actor: Any, data: dict[str, Any]) -> Person:
    """Change a person's fields by hand (keys: ``PERSON_EDITABLE``). Audited; the engine recomputes them."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        before = snapshot(person)
        changes = _apply_edit(obj=person, editable=PERSON_EDITABLE, data=data)
        if not changes:
            return person
        person.full_clean(exclude=["tenant"], validate_unique=False)
        person.save()
        person.refresh_from_db()
        names = {c.removesuffix("_id") for c in changes}
        audit_record(tenant=person.tenant, actor=actor, action="inventory.person.edited", obj=person,
                     before={k: v for k, v in before.items() if k in names},
                     after={k: v for k, v in snapshot(person).items() if k in names})
        _recompute(tenant=person.tenant, actor=actor, reason="person edited", changed={"persons": [person.pk]})
    return person


def person_retire(*, person: Person, actor: Any) -> Person:
    """Retire a person: status ``inactive`` (no longer relevant), as a hand edit."""
    return person_update(person=person, actor=actor, data={"status": PersonStatus.INACTIVE})


def merge_import(*, current: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply the hand-edit rule to one row of an import.

    ``current`` is the row as stored (with ``edited_fields``), ``values`` what the import sends.
    Returns the values the import may write and the new ``edited_fields``.
    """
    edited = dict(current.get("edited_fields") or {})
    values = dict(values)
    for name, import_value in list(edited.items()):
        if name not in values:
            continue  # the file lacks the column: nothing to decide
        if comparable(values[name]) == import_value:
            values.pop(name)  # the import did not change the field: the hand value stays
        else:
            edited.pop(name)  # the import changed it: the import wins, the mark goes
    return values, edited
