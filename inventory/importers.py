"""Importers of the estate's kinds (see ``docs/inventory.md`` and the tenant kinds of interfaces.md).

Two families:

* **Entity kinds** (``cost_centers``, ``persons``, ``devices``) upsert by natural key. A row that is
  missing from the file is *kept*: devices and persons carry requirements, placements and memberships,
  and leaving the estate is expressed by their status (``disposed``, ``inactive``), not by absence.
* **Snapshot kinds** (``vm_hosts``, ``installations``, ``group_memberships``, ``remote_usage``,
  ``service_bookings``) *replace* the tenant's snapshot of that kind: the file is the complete
  truth, rows no longer in it are removed, and a file with a header and no rows empties it.

Every importer works set-based (references resolved with one query per chunk, ``bulk_create`` /
``bulk_update``, deletes per chunk of ids, never a query per row), validates each row on its own with
stable reason codes, and writes nothing for a bad row. When a bad row still names an existing record
(e.g. an installation whose ``last_seen`` is not a date) that record is kept, so a broken column never
wipes a snapshot.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from inventory.models import (
    BookingStatus,
    CostCenter,
    Device,
    DeviceKind,
    DeviceRole,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    InventorySnapshot,
    Person,
    PersonStatus,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from inventory.recognition import fingerprints_recognise
from sam.audit import actor_label, audit_record
from sam.importing import (
    ImportResult,
    RowError,
    iter_chunks,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
    register_kind,
)
from sam.models import Tenant

# SQLite binds at most 999 variables per statement; one chunk of natural keys stays below it.
CHUNK = 900

Rows = list[tuple[int, dict[str, str]]]

# ---------------------------------------------------------------------------------------------
# Enumerations: matched case-insensitively, ignoring spaces, "_" and "-" ("Powered On" = "poweredOn").


def _enum_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.lower())


DEVICE_KINDS = {
    **dict.fromkeys(("physical", "physicalmachine", "hardware", "baremetal"), DeviceKind.PHYSICAL),
    **dict.fromkeys(("virtual", "vm", "virtualmachine", "guest"), DeviceKind.VIRTUAL),
    **dict.fromkeys(("mobile", "phone", "smartphone", "tablet"), DeviceKind.MOBILE),
}
DEVICE_ROLES = {
    **dict.fromkeys(("workstation", "desktop", "pc", "client"), DeviceRole.WORKSTATION),
    **dict.fromkeys(("laptop", "notebook", "portable"), DeviceRole.LAPTOP),
    **dict.fromkeys(("server",), DeviceRole.SERVER),
}
POWER_STATES = {
    **dict.fromkeys(("on", "poweredon", "running", "up"), "on"),
    **dict.fromkeys(("off", "poweredoff", "stopped", "down", "suspended"), "off"),
}
PERSON_STATUSES = {
    **dict.fromkeys(("active", "enabled"), PersonStatus.ACTIVE),
    **dict.fromkeys(("inactive", "disabled", "terminated", "left"), PersonStatus.INACTIVE),
}
BOOKING_STATUSES = {
    **dict.fromkeys(("approved", "granted"), BookingStatus.APPROVED),
    **dict.fromkeys(("requested", "pending", "open"), BookingStatus.REQUESTED),
    **dict.fromkeys(("rejected", "denied", "declined"), BookingStatus.REJECTED),
    **dict.fromkeys(("cancelled", "canceled", "withdrawn"), BookingStatus.CANCELLED),
}


def _choice(row: dict[str, str], column: str, choices: dict[str, str]) -> str | None:
    """The normalised value of an enumeration column; None when the cell is empty or absent."""
    text = row.get(column, "")
    if not text:
        return None
    value = choices.get(_enum_key(text))
    if value is None:
        allowed = ", ".join(sorted(set(choices.values())))
        raise RowError(f"{column}.invalid", f"{text!r} is not one of {allowed}", column)
    return value


def normalise_status(text: str) -> str:
    """Asset status is free text; stored lower-cased with single spaces so relevance can compare it."""
    return " ".join(text.lower().split())


# ---------------------------------------------------------------------------------------------
# Cells


def _text(row: dict[str, str], column: str, model: type[models.Model], field_name: str | None = None,
          *, required: bool = False) -> str:
    value = row.get(column, "")
    if required and not value:
        raise RowError("value.required", "is empty", column)
    limit = model._meta.get_field(field_name or column).max_length
    if limit and len(value) > limit:
        raise RowError("value.too_long", f"longer than {limit} characters", column)
    return value


MAX_INT = 2_147_483_647  # PositiveIntegerField on every backend


def _count(row: dict[str, str], column: str) -> int | None:
    number = parse_int(row.get(column, ""), column=column)
    if number is not None and not 0 <= number <= MAX_INT:
        raise RowError("value.number", f"{number} is out of range (0 to {MAX_INT})", column)
    return number


def _ram(row: dict[str, str], column: str) -> Decimal | None:
    number = parse_decimal(row.get(column, ""), column=column)
    if number is None:
        return None
    if not Decimal(0) <= number < Decimal(10) ** 8:
        raise RowError("value.number", f"{number} is out of range", column)
    return number.quantize(Decimal("0.01"))


def _date(row: dict[str, str], column: str, profile: Any) -> dt.date | None:
    return parse_date(row.get(column, ""), fmt=getattr(profile, "date_format", "") or "", column=column)


# ---------------------------------------------------------------------------------------------
# Resolving natural keys, one query per chunk


@dataclass
class Lookup:
    """Natural key → id, exact spelling first, then case-insensitive (hostnames and logins are)."""

    exact: dict[str, int] = field(default_factory=dict)
    folded: dict[str, int] = field(default_factory=dict)

    def get(self, value: str) -> int | None:
        if not value:
            return None
        found = self.exact.get(value)
        return found if found is not None else self.folded.get(value.lower())

    def __contains__(self, value: str) -> bool:
        return self.get(value) is not None


def resolve(*, model: type[models.Model], field_name: str, values: Iterable[str]) -> Lookup:
    """Resolve natural keys of ``model`` in the active tenant scope.

    One query per chunk of exact spellings, plus one per chunk of the keys that matched only in
    another letter case (usually none).
    """
    wanted = sorted({v for v in values if v})
    lookup = Lookup()
    for chunk in iter_chunks(wanted, CHUNK):
        for pk, key in model.objects.filter(**{f"{field_name}__in": chunk}).values_list("pk", field_name):
            lookup.exact[key] = pk
            lookup.folded.setdefault(key.lower(), pk)
    misses = sorted({v.lower() for v in wanted if v not in lookup.exact and v.lower() not in lookup.folded})
    for chunk in iter_chunks(misses, CHUNK):
        rows = (model.objects.annotate(_folded=Lower(field_name)).filter(_folded__in=chunk)
                .order_by("pk").values_list("pk", field_name))
        for pk, key in rows:
            lookup.folded.setdefault(key.lower(), pk)
    return lookup


# ---------------------------------------------------------------------------------------------
# Writing


def _delete_ids(model: type[models.Model], ids: list[int]) -> int:
    removed = 0
    for chunk in iter_chunks(ids, CHUNK):
        removed += model.objects.filter(pk__in=chunk).delete()[1].get(model._meta.label, 0)
    return removed


def replace_snapshot(*, model: type[models.Model], tenant: Tenant, key_fields: tuple[str, ...],
                     value_fields: tuple[str, ...], incoming: dict[tuple, dict[str, Any]],
                     keep: set[tuple], result: ImportResult) -> set[tuple] | None:
    """Make the tenant's rows of ``model`` equal ``incoming`` (key → values).

    Rows whose key is not in ``incoming`` are removed unless their key is in ``keep`` (named by a
    rejected row). One query reads the current snapshot; creates, updates and deletes are bulk.
    Returns the keys that were created, updated or removed (None when duplicates of unknown key
    were cleaned up, so the caller cannot name everything that changed).
    """
    existing: dict[tuple, dict[str, Any]] = {}
    stale: list[int] = []
    for current in model.objects.values("pk", *key_fields, *value_fields).order_by("pk").iterator(chunk_size=5000):
        key = tuple(current[f] for f in key_fields)
        if key in existing:  # a duplicate left by an older version or a manual edit
            stale.append(current["pk"])
        else:
            existing[key] = current
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    for key, values in incoming.items():
        current = existing.get(key)
        if current is None:
            to_create.append(model(tenant=tenant, **dict(zip(key_fields, key, strict=True)), **values))
        elif any(current[f] != values[f] for f in value_fields):
            to_update.append(model(pk=current["pk"], tenant=tenant, **dict(zip(key_fields, key, strict=True)), **values))
        else:
            result.unchanged += 1
    duplicates_removed = bool(stale)
    gone = [key for key in existing if key not in incoming and key not in keep]
    stale.extend(existing[key]["pk"] for key in gone)
    touched = {tuple(getattr(obj, f) for f in key_fields) for obj in (*to_create, *to_update)} | set(gone)
    model.objects.bulk_create(to_create, batch_size=CHUNK)
    if to_update and value_fields:
        model.objects.bulk_update(to_update, list(value_fields), batch_size=CHUNK)
    result.created += len(to_create)
    result.updated += len(to_update)
    result.deleted += _delete_ids(model, stale)
    return None if duplicates_removed else touched


def upsert_entities(*, model: type[models.Model], tenant: Tenant, key_field: str,
                    incoming: dict[str, dict[str, Any]], fields: list[str], defaults: dict[str, Any],
                    result: ImportResult, hand_edits: bool = False) -> list[str]:
    """Create or update entities by natural key (matched case-insensitively); absent rows are kept.

    Returns the keys (as spelled in the file) of the entities created or updated.

    ``incoming`` maps the key as spelled in the file to the values of the columns the file has;
    ``fields`` are those columns (a column the file lacks is never touched). A field missing from
    one row's values keeps the entity's current value (a new entity gets the model default).
    ``hand_edits``: the model has ``edited_fields``; a field edited by hand keeps its value unless
    the import changes it (``inventory.services.merge_import``).
    """
    from inventory.services import merge_import

    existing: dict[str, dict[str, Any]] = {}
    lookup = resolve(model=model, field_name=key_field, values=incoming)
    ids = sorted({pk for key in incoming if (pk := lookup.get(key)) is not None})
    read = (key_field, *fields, *(("edited_fields",) if hand_edits else ()))
    for chunk in iter_chunks(ids, CHUNK):
        for current in model.objects.filter(pk__in=chunk).values("pk", *read):
            existing[current["pk"]] = current
    to_create: list[models.Model] = []
    to_update: list[models.Model] = []
    for key, values in incoming.items():
        pk = lookup.get(key)
        if pk is None:
            to_create.append(model(tenant=tenant, **{key_field: key, **defaults, **values}))
            continue
        current = existing[pk]
        extra: dict[str, Any] = {}
        if hand_edits:
            values, edited = merge_import(current=current, values=values)
            if edited != (current["edited_fields"] or {}):
                extra["edited_fields"] = edited
        if extra or any(current[f] != values[f] for f in fields if f in values):
            merged = {f: values.get(f, current[f]) for f in fields}
            if hand_edits:
                merged["edited_fields"] = extra.get("edited_fields", current["edited_fields"])
            to_update.append(model(pk=pk, tenant=tenant, **{key_field: current[key_field], **merged}))
        else:
            result.unchanged += 1
    if to_create:
        update_fields = [f for f in fields if f != key_field]
        # update_conflicts: a concurrent import that created the same key in the meantime is updated.
        options = ({"update_conflicts": True, "unique_fields": ["tenant", key_field], "update_fields": update_fields}
                   if update_fields else {"ignore_conflicts": True})
        model.objects.bulk_create(to_create, batch_size=CHUNK, **options)
    if to_update and fields:
        model.objects.bulk_update(to_update, [*fields, *(("edited_fields",) if hand_edits else ())],
                                  batch_size=CHUNK)
    result.created += len(to_create)
    result.updated += len(to_update)
    return [getattr(obj, key_field) for obj in (*to_create, *to_update)]


def _changed(result: ImportResult, touched_keys: set[tuple] | None, *, devices: tuple[int, ...] = (),
             persons: tuple[int, ...] = ()) -> None:
    """Name the consumers whose evidence changed (``extra["changed"]``), so the engine recomputes just them.

    ``devices``/``persons`` are the positions of device and person ids in the touched keys. ``None``
    (the import could not name everything it changed) leaves the change a full one.
    """
    if touched_keys is None:
        return
    changed = {
        "devices": sorted({key[i] for key in touched_keys for i in devices if key[i] is not None}),
        "persons": sorted({key[i] for key in touched_keys for i in persons if key[i] is not None}),
    }
    result.extra["changed"] = {kind: ids for kind, ids in changed.items() if ids}


def _changed_entities(result: ImportResult, *, model: type[models.Model], key_field: str, kind: str,
                      keys: list[str]) -> None:
    """Name the created or updated entities (by id, one query per chunk of keys)."""
    lookup = resolve(model=model, field_name=key_field, values=keys)
    result.extra["changed"] = {kind: sorted({pk for key in keys if (pk := lookup.get(key)) is not None})}


def _finish(*, tenant: Tenant, kind: str, result: ImportResult, actor, filename: str) -> ImportResult:
    """Record what the import changed: the kind's snapshot row and one audit event."""
    counts = {"read": result.read, "created": result.created, "updated": result.updated,
              "unchanged": result.unchanged, "removed": result.deleted, "rejected": result.rejected}
    InventorySnapshot.objects.update_or_create(
        tenant=tenant, kind=kind,
        defaults={"at": timezone.now(), "actor_label": actor_label(actor)[:150], "filename": filename[:300],
                  "errors": result.errors[:50], **counts},
    )
    if result.created or result.updated or result.deleted:
        audit_record(tenant=tenant, actor=actor, action=f"inventory.{kind}.imported",
                     object_type="inventory.inventorysnapshot", object_repr=kind,
                     after=counts, note=filename)
    return result


def _start(kind: str, rows: Rows) -> ImportResult:
    result = ImportResult(kind=kind)
    result.read = len(rows)
    return result


def _duplicates(result: ImportResult) -> None:
    merged = result.extra.get("merged", 0)
    result.extra["merged"] = merged + 1


# ---------------------------------------------------------------------------------------------
# Entity kinds


@register_kind("cost_centers", columns={"code": ("cost_center", "cost center code", "kostenstelle"),
                                        "name": ("description",)},
               required=("code",), description="Cost centers (upsert by code).")
def cost_centers_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                        profile=None, source=None, filename: str = "") -> ImportResult:
    """Upsert cost centers by ``code``; a code missing from the file is kept."""
    result = _start("cost_centers", rows)
    columns = _present(rows, ("name",))
    incoming: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for row_no, row in rows:
        try:
            code = _text(row, "code", CostCenter, required=True)
            values = {"name": _text(row, "name", CostCenter)} if "name" in columns else {}
            _unique_in_file(code, seen)
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        incoming[code] = values
    with transaction.atomic():
        upsert_entities(model=CostCenter, tenant=tenant, key_field="code", incoming=incoming, fields=columns,
                        defaults={}, result=result)
        # Cost centers do not change what the engine computes.
        result.extra["affects_engine"] = False
        return _finish(tenant=tenant, kind="cost_centers", result=result, actor=actor, filename=filename)


def _present(rows: Rows, columns: tuple[str, ...]) -> list[str]:
    """The optional columns the file has (records carry exactly the mapped columns)."""
    present: set[str] = set()
    for _row_no, row in rows:
        present.update(row)
    return [c for c in columns if c in present]


def _unique_in_file(key: str, seen: set[str]) -> None:
    folded = key.lower()
    if folded in seen:
        raise RowError("row.duplicate", f"{key!r} appears more than once in the file")
    seen.add(folded)


@register_kind("persons", columns={"username": ("login", "samaccountname", "user", "user name"),
                                   "email": ("mail", "e-mail"), "name": ("display name", "displayname", "full name"),
                                   "status": ("state",), "cost_center": ("cost centre", "costcenter code")},
               required=("username",), description="Persons (upsert by username).")
def persons_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                   profile=None, source=None, filename: str = "") -> ImportResult:
    """Upsert persons by ``username`` (case-insensitive); cost centers are referenced by code."""
    result = _start("persons", rows)
    columns = _present(rows, ("email", "name", "status", "cost_center"))
    centers = resolve(model=CostCenter, field_name="code", values=(r.get("cost_center", "") for _n, r in rows))
    incoming: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for row_no, row in rows:
        try:
            username = _text(row, "username", Person, required=True)
            values: dict[str, Any] = {}
            if "email" in columns:
                values["email"] = _text(row, "email", Person)
            if "name" in columns:
                values["name"] = _text(row, "name", Person)
            if "status" in columns and (status := _choice(row, "status", PERSON_STATUSES)):
                values["status"] = status
            if "cost_center" in columns:
                values["cost_center_id"] = _reference(row, "cost_center", centers, "cost_center.unknown",
                                                      "no cost center", required=False)
            _unique_in_file(username, seen)
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        incoming[username] = values
    fields = [("cost_center_id" if c == "cost_center" else c) for c in columns]
    with transaction.atomic():
        keys = upsert_entities(model=Person, tenant=tenant, key_field="username", incoming=incoming, fields=fields,
                               defaults={}, result=result, hand_edits=True)
        _changed_entities(result, model=Person, key_field="username", kind="persons", keys=keys)
        return _finish(tenant=tenant, kind="persons", result=result, actor=actor, filename=filename)


DEVICE_COLUMNS = ("kind", "role", "status", "power", "processors", "cores_per_processor", "threads", "vcpus",
                  "processor_model", "ram_gb", "primary_user")


@register_kind("devices", columns={
    "name": ("hostname", "computer name", "computername", "device", "device name"),
    "kind": ("type", "device type"), "role": ("device role",), "status": ("asset status",),
    "power": ("power state", "powerstate"), "processors": ("sockets", "cpus", "cpu sockets"),
    "cores_per_processor": ("cores per socket", "corespersocket"), "threads": ("logical processors",),
    "vcpus": ("vcpu", "virtual cpus"), "processor_model": ("cpu", "cpu model", "processor"),
    "ram_gb": ("ram", "memory gb", "memory"), "primary_user": ("username", "main user"),
}, required=("name",), description="Devices (upsert by name).")
def devices_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                   profile=None, source=None, filename: str = "") -> ImportResult:
    """Upsert devices by ``name`` (case-insensitive). Enumerations are normalised; ``primary_user`` is a username.

    An empty ``kind``/``role``/``status`` keeps the current value (new devices: physical, workstation,
    active); any other empty cell clears the value.
    """
    result = _start("devices", rows)
    columns = _present(rows, DEVICE_COLUMNS)
    persons = resolve(model=Person, field_name="username", values=(r.get("primary_user", "") for _n, r in rows))
    incoming: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for row_no, row in rows:
        try:
            name = _text(row, "name", Device, required=True)
            values: dict[str, Any] = {}
            # An empty kind, role or status is left out: the device keeps its value (new: the default).
            if "kind" in columns and (kind := _choice(row, "kind", DEVICE_KINDS)):
                values["kind"] = kind
            if "role" in columns and (role := _choice(row, "role", DEVICE_ROLES)):
                values["role"] = role
            if "status" in columns and (status := normalise_status(_text(row, "status", Device))):
                values["status"] = status
            if "power" in columns:
                values["power"] = _choice(row, "power", POWER_STATES) or ""
            for column in ("processors", "cores_per_processor", "threads", "vcpus"):
                if column in columns:
                    values[column] = _count(row, column)
            if "processor_model" in columns:
                values["processor_model"] = _text(row, "processor_model", Device)
            if "ram_gb" in columns:
                values["ram_gb"] = _ram(row, "ram_gb")
            _unique_in_file(name, seen)
            if "primary_user" in columns:
                username = row.get("primary_user", "")
                values["primary_user_id"] = persons.get(username) if username else None
                if username and values["primary_user_id"] is None:
                    # The device is still imported: an unknown user must not hide it from the estate.
                    result.warn(row_no, "person.unknown", f"no person with username {username!r}; "
                                "imported without a primary user", "primary_user")
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        incoming[name] = values
    fields = [("primary_user_id" if c == "primary_user" else c) for c in columns]
    with transaction.atomic():
        keys = upsert_entities(model=Device, tenant=tenant, key_field="name", incoming=incoming, fields=fields,
                               defaults={}, result=result, hand_edits=True)
        _changed_entities(result, model=Device, key_field="name", kind="devices", keys=keys)
        return _finish(tenant=tenant, kind="devices", result=result, actor=actor, filename=filename)


# ---------------------------------------------------------------------------------------------
# Snapshot kinds


@register_kind("vm_hosts", columns={"vm": ("guest", "virtual machine", "vm name"),
                                    "host": ("host name", "hypervisor", "esx host"),
                                    "from": ("valid_from", "since", "start"), "to": ("valid_to", "until", "end")},
               required=("vm", "host"), description="VM placements on hosts (replaces the snapshot).")
def vm_hosts_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                    profile=None, source=None, filename: str = "") -> ImportResult:
    """Replace the tenant's VM-host history. A VM's periods must not overlap (touching days may)."""
    result = _start("vm_hosts", rows)
    names = [r.get(c, "") for _n, r in rows for c in ("vm", "host")]
    devices = resolve(model=Device, field_name="name", values=names)
    parsed: list[tuple[int, int, int, dt.date | None, dt.date | None]] = []
    keep: set[tuple] = set()
    for row_no, row in rows:
        vm_id = host_id = None
        try:
            for column in ("vm", "host"):
                name = row.get(column, "")
                if not name:
                    raise RowError("value.required", "is empty", column)
                if devices.get(name) is None:
                    raise RowError("device.unknown", f"no device named {name!r}", column)
            vm_id, host_id = devices.get(row["vm"]), devices.get(row["host"])
            if vm_id == host_id:
                raise RowError("placement.self", "a VM cannot be its own host", "host")
            start = _date(row, "from", profile)
            keep_key = (vm_id, host_id, start)
            end = _date(row, "to", profile)
            if start and end and end < start:
                raise RowError("date.order", f"{end} is before {start}", "to")
        except RowError as exc:
            if vm_id and host_id and exc.column in ("to",):
                keep.add(keep_key)
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        parsed.append((row_no, vm_id, host_id, start, end))
    incoming: dict[tuple, dict[str, Any]] = {}
    last_end: dict[int, tuple[dt.date | None, bool]] = {}
    for row_no, vm_id, host_id, start, end in sorted(parsed, key=lambda p: (p[1], p[3] or dt.date.min, p[0])):
        key = (vm_id, host_id, start)
        if key in incoming:
            _duplicates(result)
            incoming[key] = {"valid_to": end}
            continue
        previous = last_end.get(vm_id)
        if previous is not None:
            prev_end, prev_open = previous
            if prev_open or (start is None) or (prev_end and start < prev_end):
                result.reject(row_no, "placement.overlap", "overlaps another period of this VM", "from")
                keep.add(key)
                continue
        incoming[key] = {"valid_to": end}
        last_end[vm_id] = (end, end is None)
    with transaction.atomic():
        touched = replace_snapshot(model=VmPlacement, tenant=tenant, key_fields=("vm_id", "host_id", "valid_from"),
                                   value_fields=("valid_to",), incoming=incoming, keep=keep, result=result)
        _changed(result, touched, devices=(0, 1))
        return _finish(tenant=tenant, kind="vm_hosts", result=result, actor=actor, filename=filename)


def fingerprint_ids(*, triples: Iterable[tuple[str, str, str]]) -> dict[tuple, int]:
    """Ids of the existing fingerprints among (publisher, name, version) triples; one query per chunk of names."""
    wanted = set(triples)
    ids: dict[tuple, int] = {}
    for chunk in iter_chunks(sorted({t[1] for t in wanted}), CHUNK):
        for pk, publisher, name, version in (Fingerprint.objects.filter(name__in=chunk)
                                             .values_list("pk", "publisher", "name", "version")):
            if (publisher, name, version) in wanted:
                ids[(publisher, name, version)] = pk
    return ids


def fingerprints_ensure(*, tenant: Tenant, triples: Iterable[tuple[str, str, str]]) -> tuple[dict[tuple, int], list[int]]:
    """Get or create the fingerprints (publisher, name, version) in bulk.

    Returns the id of every triple and the ids that were new: one read per chunk of names, one bulk
    insert of the missing ones and one more read per chunk for their ids.
    """
    wanted = set(triples)
    ids = fingerprint_ids(triples=wanted)
    missing = sorted(t for t in wanted if t not in ids)
    if not missing:
        return ids, []
    Fingerprint.objects.bulk_create([Fingerprint(tenant=tenant, publisher=p, name=n, version=v) for p, n, v in missing],
                                    batch_size=CHUNK, ignore_conflicts=True)
    ids.update(fingerprint_ids(triples=missing))
    return ids, sorted(ids[t] for t in missing if t in ids)


def _recognise(*, tenant: Tenant, fingerprint_ids: list[int], result: ImportResult) -> None:
    """Classify new fingerprints by the catalog's recognition rules (product, irrelevant or unknown)."""
    if fingerprint_ids:
        fingerprints_recognise(tenant=tenant, fingerprint_ids=fingerprint_ids)


@register_kind("installations", columns={
    "device": ("device name", "computer name", "computername", "hostname"),
    "publisher": ("manufacturer", "vendor"), "name": ("display name", "displayname", "software", "application"),
    "version": ("display version", "displayversion"), "last_seen": ("last scan", "last inventory", "scan date"),
}, required=("device", "name"), description="Installed software (replaces the snapshot).")
def installations_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                         profile=None, source=None, filename: str = "") -> ImportResult:
    """Replace the tenant's installations: the file lists every installation of every device.

    Each (publisher, name, version) becomes a ``Fingerprint`` (created in bulk, then recognised by
    the catalog); the same installation listed twice keeps its latest ``last_seen``.
    """
    result = _start("installations", rows)
    devices = resolve(model=Device, field_name="name", values=(r.get("device", "") for _n, r in rows))
    parsed: list[tuple[int, int, tuple[str, str, str], dt.date | None]] = []
    protected: list[tuple[int, tuple[str, str, str]]] = []
    for row_no, row in rows:
        device_id = None
        triple = None
        try:
            device = row.get("device", "")
            if not device:
                raise RowError("value.required", "is empty", "device")
            device_id = devices.get(device)
            if device_id is None:
                raise RowError("device.unknown", f"no device named {device!r}", "device")
            triple = (_text(row, "publisher", Fingerprint), _text(row, "name", Fingerprint, required=True),
                      _text(row, "version", Fingerprint))
            last_seen = _date(row, "last_seen", profile)
        except RowError as exc:
            if device_id and triple:
                protected.append((device_id, triple))
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        parsed.append((row_no, device_id, triple, last_seen))
    with transaction.atomic():
        ids, new_ids = fingerprints_ensure(tenant=tenant, triples=[p[2] for p in parsed])
        # A row rejected for its date still names an installation: keep it rather than remove it.
        known = fingerprint_ids(triples=[t for _d, t in protected]) if protected else {}
        keep = {(device_id, known[t]) for device_id, t in protected if t in known}
        incoming: dict[tuple, dict[str, Any]] = {}
        for _row_no, device_id, triple, last_seen in parsed:
            key = (device_id, ids[triple])
            if key in incoming:
                _duplicates(result)
                earlier = incoming[key]["last_seen"]
                last_seen = max(d for d in (earlier, last_seen) if d) if (earlier or last_seen) else None
            incoming[key] = {"last_seen": last_seen}
        touched = replace_snapshot(model=Installation, tenant=tenant, key_fields=("device_id", "fingerprint_id"),
                                   value_fields=("last_seen",), incoming=incoming, keep=keep, result=result)
        # Only these devices' installations changed: the engine recomputes just them.
        _changed(result, touched, devices=(0,))
        result.extra["new_fingerprints"] = len(new_ids)
        _recognise(tenant=tenant, fingerprint_ids=new_ids, result=result)
        return _finish(tenant=tenant, kind="installations", result=result, actor=actor, filename=filename)


@register_kind("group_memberships", columns={"group": ("group name", "ad group", "groupname"),
                                             "member": ("member name", "username", "device", "samaccountname")},
               required=("group", "member"), description="Group members, persons or devices (replaces the snapshot).")
def group_memberships_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                             profile=None, source=None, filename: str = "") -> ImportResult:
    """Replace the tenant's group memberships; groups are created on the fly.

    A member is looked up as a person's username first, then as a device name.
    """
    result = _start("group_memberships", rows)
    members = [r.get("member", "") for _n, r in rows]
    persons = resolve(model=Person, field_name="username", values=members)
    devices = resolve(model=Device, field_name="name",
                      values=(m for m in members if m and persons.get(m) is None))
    parsed: list[tuple[str, int | None, int | None]] = []
    for row_no, row in rows:
        try:
            group = _text(row, "group", Group, "name", required=True)
            member = row.get("member", "")
            if not member:
                raise RowError("value.required", "is empty", "member")
            person_id = persons.get(member)
            device_id = None if person_id else devices.get(member)
            if person_id is None and device_id is None:
                raise RowError("member.unknown", f"no person or device named {member!r}", "member")
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        parsed.append((group, person_id, device_id))
    with transaction.atomic():
        group_ids = _groups_ensure(tenant=tenant, names=[p[0] for p in parsed], result=result)
        incoming: dict[tuple, dict[str, Any]] = {}
        for group, person_id, device_id in parsed:
            key = (group_ids[group], person_id, device_id)
            if key in incoming:
                _duplicates(result)
            incoming[key] = {}
        touched = replace_snapshot(model=GroupMembership, tenant=tenant,
                                   key_fields=("group_id", "person_id", "device_id"),
                                   value_fields=(), incoming=incoming, keep=set(), result=result)
        _changed(result, touched, persons=(1,), devices=(2,))
        return _finish(tenant=tenant, kind="group_memberships", result=result, actor=actor, filename=filename)


def _groups_ensure(*, tenant: Tenant, names: list[str], result: ImportResult) -> dict[str, int]:
    """Ids of the named groups, creating the missing ones in bulk (names match case-insensitively)."""
    lookup = resolve(model=Group, field_name="name", values=names)
    missing: dict[str, str] = {}
    for name in names:
        if lookup.get(name) is None:
            missing.setdefault(name.lower(), name)
    if missing:
        Group.objects.bulk_create([Group(tenant=tenant, name=n) for n in missing.values()], batch_size=CHUNK,
                                  ignore_conflicts=True)
        result.extra["groups_created"] = len(missing)
        created = resolve(model=Group, field_name="name", values=missing.values())
        lookup.exact.update(created.exact)
        lookup.folded.update(created.folded)
    return {name: lookup.get(name) for name in names}


@register_kind("remote_usage", columns={"user": ("username", "login", "samaccountname"),
                                        "host": ("server", "device", "terminal server"),
                                        "executable": ("exe", "program", "process"),
                                        "last_used": ("last use", "last start", "date")},
               required=("user", "host", "executable"), description="Remote (terminal server) use (replaces the snapshot).")
def remote_usage_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                        profile=None, source=None, filename: str = "") -> ImportResult:
    """Replace the tenant's remote usage: who ran which executable on which host, last when."""
    result = _start("remote_usage", rows)
    persons = resolve(model=Person, field_name="username", values=(r.get("user", "") for _n, r in rows))
    devices = resolve(model=Device, field_name="name", values=(r.get("host", "") for _n, r in rows))
    incoming: dict[tuple, dict[str, Any]] = {}
    keep: set[tuple] = set()
    for row_no, row in rows:
        key = None
        try:
            person_id = _reference(row, "user", persons, "person.unknown", "no person with username")
            host_id = _reference(row, "host", devices, "device.unknown", "no device named")
            executable = _text(row, "executable", RemoteUsage, required=True)
            key = (person_id, host_id, executable)
            last_used = _date(row, "last_used", profile)
        except RowError as exc:
            if key:
                keep.add(key)
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        if key in incoming:
            _duplicates(result)
            earlier = incoming[key]["last_used"]
            last_used = max(d for d in (earlier, last_used) if d) if (earlier or last_used) else None
        incoming[key] = {"last_used": last_used}
    with transaction.atomic():
        touched = replace_snapshot(model=RemoteUsage, tenant=tenant, key_fields=("person_id", "host_id", "executable"),
                                   value_fields=("last_used",), incoming=incoming, keep=keep, result=result)
        _changed(result, touched, persons=(0,), devices=(1,))
        return _finish(tenant=tenant, kind="remote_usage", result=result, actor=actor, filename=filename)


def _reference(row: dict[str, str], column: str, lookup: Lookup, code: str, message: str, *,
               required: bool = True) -> int | None:
    """The id a row's reference column names; an unknown name is a row error, an empty one too unless optional."""
    value = row.get(column, "")
    if not value:
        if not required:
            return None
        raise RowError("value.required", "is empty", column)
    found = lookup.get(value)
    if found is None:
        raise RowError(code, f"{message} {value!r}", column)
    return found


@register_kind("service_bookings", columns={"user": ("username", "login", "requester"),
                                            "service": ("service name", "offering"),
                                            "status": ("state", "booking status"),
                                            "date": ("booked", "booking date", "order date")},
               required=("user", "service"), description="Service-catalog bookings (replaces the snapshot).")
def service_bookings_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                            profile=None, source=None, filename: str = "") -> ImportResult:
    """Replace the tenant's service bookings (one per person and service; a later row wins)."""
    result = _start("service_bookings", rows)
    persons = resolve(model=Person, field_name="username", values=(r.get("user", "") for _n, r in rows))
    incoming: dict[tuple, dict[str, Any]] = {}
    keep: set[tuple] = set()
    for row_no, row in rows:
        key = None
        try:
            person_id = _reference(row, "user", persons, "person.unknown", "no person with username")
            key = (person_id, _text(row, "service", ServiceBooking, required=True))
            status = _choice(row, "status", BOOKING_STATUSES) or BookingStatus.REQUESTED
            date = _date(row, "date", profile)
        except RowError as exc:
            if key:
                keep.add(key)
            result.reject(row_no, exc.code, exc.message, exc.column)
            continue
        if key in incoming:
            _duplicates(result)
        incoming[key] = {"status": status, "date": date}
    with transaction.atomic():
        touched = replace_snapshot(model=ServiceBooking, tenant=tenant, key_fields=("person_id", "service"),
                                   value_fields=("status", "date"), incoming=incoming, keep=keep, result=result)
        _changed(result, touched, persons=(0,))
        return _finish(tenant=tenant, kind="service_bookings", result=result, actor=actor, filename=filename)


INVENTORY_KINDS = ("cost_centers", "persons", "devices", "vm_hosts", "installations", "group_memberships",
                   "remote_usage", "service_bookings")
SNAPSHOT_KINDS = ("vm_hosts", "installations", "group_memberships", "remote_usage", "service_bookings")


# ---------------------------------------------------------------------------------------------
# Tenant settings (what decides the numbers), as a file

TENANT_SETTINGS = {"relevant_status": "one row per asset status that makes a device relevant; the rows "
                                      "together replace the list",
                   "proof_of_purchase_required": "yes/no: an entitlement needs a proof of purchase"}


@register_kind("tenant_settings", columns={"setting": ("name", "key"), "value": ()}, required=("setting", "value"),
               description="The tenant's settings that decide the numbers, one `setting`/`value` pair a row: "
                           "`relevant_status` (repeat the row for each status; the rows replace the list) and "
                           "`proof_of_purchase_required` (yes/no). A setting the file does not name keeps its "
                           "value. Same service, audit and recompute as the Settings page.")
def tenant_settings_import(*, tenant: Tenant, rows: Rows, as_of: dt.date | None = None, actor=None, job=None,
                           profile=None, source=None, filename: str = "") -> ImportResult:
    """Set the relevant asset statuses and the proof-of-purchase switch from a file."""
    from sam.services import tenant_settings_update

    result = _start("tenant_settings", rows)
    statuses: list[str] | None = None
    require_proof: bool | None = None
    for row_no, row in rows:
        setting = "_".join(row.get("setting", "").lower().split())
        value = row.get("value", "")
        try:
            if setting == "relevant_status":
                if not value.strip():
                    raise RowError("value.required", "is empty", "value")
                statuses = [*(statuses or []), value]
            elif setting == "proof_of_purchase_required":
                require_proof = parse_bool(value, column="value")
            else:
                raise RowError("setting.unknown", f"unknown setting {setting!r} (known: {', '.join(TENANT_SETTINGS)})",
                               "setting")
        except RowError as exc:
            result.reject(row_no, exc.code, exc.message, exc.column)
    if statuses is None and require_proof is None:
        return result
    before = (list(tenant.relevant_device_statuses or []), tenant.setting("entitlements_require_proof", False))
    updated = tenant_settings_update(tenant=tenant, actor=actor, relevant_statuses=statuses,
                                     require_proof=require_proof)
    tenant.refresh_from_db()
    if (list(updated.relevant_device_statuses or []), updated.setting("entitlements_require_proof", False)) != before:
        result.updated = 1
    else:
        result.unchanged = 1
    # tenant_settings_update asked for the recompute itself.
    result.extra["affects_engine"] = False
    return result
