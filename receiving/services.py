"""Receiving inspection: staging, validation, transfer, corrections, undo, API tokens and settings.

Every path (upload, ``import_data``, the push API, the queue's fixes) ends in the same two steps:
lines are validated chunk by chunk with a bounded number of queries (``receiving.validation``), and
the clean ones are handed to ``entitlements.services.entitlements_create_many``. Receiving never
writes an entitlement itself.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from receiving.models import ApiToken, ImportBatch, ImportProfile, LineStatus, PurchaseLine
from receiving.validation import CANONICAL, DOWNGRADABLE, Checked, Options, Rules, check_lines, fingerprint
from sam.audit import audit_record, snapshot
from sam.bulk import insert_values
from sam.importing import ImportFileError, iter_chunks
from sam.models import Tenant

CHUNK = 2000
IN_CHUNK = 900
LINE_COLUMNS = ("sku", "description", "publisher", "po_number", "po_line", "invoice_number", "supplier",
                "contract_number", "cost_center", "requester_email", "quantity", "unit_price", "currency",
                "order_date", "amount", "resolved_sku", "product_id")
Progress = Callable[[int, str], None]


def max_file_bytes() -> int:
    """The largest procurement file accepted (``RECEIVING_MAX_FILE_BYTES``, default 20 MB)."""
    import os

    value = getattr(settings, "RECEIVING_MAX_FILE_BYTES", None) or os.environ.get("RECEIVING_MAX_FILE_BYTES")
    return int(value) if value else 20 * 1024 * 1024


def check_file_size(size: int) -> None:
    limit = max_file_bytes()
    if size > limit:
        raise ImportFileError(
            _("The file has %(size).1f MB; procurement files are accepted up to %(limit).1f MB. Split it into "
              "several files or push the lines through the API.") % {"size": size / 1048576, "limit": limit / 1048576})


@dataclass
class ReceiveResult:
    """What one import, push or revalidation did."""

    read: int = 0
    created: int = 0
    skipped: int = 0  # lines already received (same content): re-imports change nothing
    transferred: int = 0
    waiting: int = 0
    batch: ImportBatch | None = None
    entitlement_ids: list[int] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # "Row 5, sku: sku.unknown – message"
    line_outcomes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "created": self.created, "skipped": self.skipped,
                "transferred": self.transferred, "waiting": self.waiting,
                "batch": self.batch.pk if self.batch else None, "reasons": dict(self.reasons)}


# ---------------------------------------------------------------------------------------------
# Intake


def _existing_fingerprints(prints: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in iter_chunks(sorted(set(prints)), IN_CHUNK):
        found.update(PurchaseLine.objects.filter(fingerprint__in=chunk, batch__undone_at__isnull=True)
                     .values_list("fingerprint", flat=True))
    return found


def receiving_receive(
    *,
    tenant: Tenant,
    actor: Any,
    rows: Sequence[tuple[int, dict[str, Any]]],
    source: str,
    filename: str = "",
    file_bytes: bytes | None = None,
    options: Options | None = None,
    profile: ImportProfile | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK,
    recompute: bool = True,
) -> ReceiveResult:
    """Stage purchase lines, validate them, and transfer the clean ones into entitlements.

    ``rows`` are (row number, {canonical column: value}). A line whose content was received before
    (same values, not in an undone batch) is skipped, so re-importing a file changes nothing; when
    nothing is new no batch is created. Each chunk is staged and transferred in one transaction.
    """
    rules = Rules.for_tenant(tenant)
    options = options or Options()
    result = ReceiveResult(read=len(rows))
    occurrences: Counter = Counter()
    prepared: list[tuple[int, dict[str, str], str]] = []
    for row_no, values in rows:
        clean = {k: ("" if values.get(k) is None else str(values.get(k)).strip()) for k in CANONICAL if k in values}
        base = fingerprint(clean)
        nth = occurrences[base]
        prepared.append((row_no, clean, base if nth == 0 else fingerprint(clean, nth)))
        occurrences[base] += 1
    known = _existing_fingerprints([p for _r, _c, p in prepared])
    fresh = [p for p in prepared if p[2] not in known]
    result.skipped = len(prepared) - len(fresh)
    if not fresh:
        return result

    user = actor if hasattr(actor, "username") else None
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            tenant=tenant, source=source, filename=filename[:300], created_by=user,
            actor_label=(getattr(actor, "username", None) or str(actor or "system"))[:150], profile=profile,
            date_format=options.date_format, decimal_separator=options.decimal_separator,
            default_currency=options.default_currency, rows_read=len(rows), duplicates_skipped=result.skipped,
            file_sha256=hashlib.sha256(file_bytes).hexdigest() if file_bytes else "",
        )
        if file_bytes:
            batch.file.save(f"{timezone.now():%Y%m%d-%H%M%S}-{batch.pk}-{(filename or 'lines')[-80:]}",
                            ContentFile(file_bytes), save=True)
    result.batch = batch
    seen: dict = {}
    done = 0
    user = actor if hasattr(actor, "username") else None
    for chunk in iter_chunks(fresh, chunk_size):
        with transaction.atomic():
            checked = check_lines(tenant=tenant, items=[(None, values, options) for _r, values, _p in chunk],
                                  rules=rules, seen=seen)
            # New lines are written once, in their final state: a clean line is inserted as transferred
            # (nobody else can see it before this transaction commits, so there is nothing to claim).
            now = timezone.now()
            rows, passing = [], []
            for (row_no, values, fp), c in zip(chunk, checked, strict=True):
                fields = _outcome_fields(c)
                ok = c.passes and c.entitlement is not None
                if ok:
                    fields.update(status=LineStatus.TRANSFERRED, transferred_at=now,
                                  cleared_by_id=user.pk if user else None)
                passing.append(ok)
                rows.append({"tenant_id": tenant.pk, "batch_id": batch.pk, "row_number": row_no, "raw": values,
                             "values": dict(values), "fingerprint": fp, "received_at": now, **fields})
            ids = insert_values(PurchaseLine, rows)
            result.entitlement_ids += _create_entitlements(
                tenant=tenant, actor=actor, rules=rules,
                rows=[{**c.entitlement, "purchase_line_id": pk}
                      for pk, c, ok in zip(ids, checked, passing, strict=True) if ok])
        result.created += len(rows)
        for (row_no, _values, _fp), pk, c, ok in zip(chunk, ids, checked, passing, strict=True):
            if ok:
                result.transferred += 1
            else:
                result.waiting += 1
                for issue in c.errors:
                    result.reasons[issue.code] += 1
                    if len(result.errors) < 500:
                        result.errors.append(f"Row {row_no}, {issue.column}: {issue.code} – {issue.message}")
            result.line_outcomes.append({"row": row_no, "id": pk,
                                         "status": LineStatus.TRANSFERRED if ok else LineStatus.WAITING,
                                         "reasons": [i.as_dict() for i in c.errors],
                                         "warnings": [i.as_dict() for i in c.notes]})
        done += len(chunk)
        if progress:
            progress(int(done * 100 / len(fresh)), _("%(done)d of %(total)d lines checked") % {"done": done, "total": len(fresh)})
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="receiving.batch.received", obj=batch,
                     after={"filename": filename, "source": source, "read": result.read, "created": result.created,
                            "skipped": result.skipped, "transferred": result.transferred, "waiting": result.waiting})
    if recompute:
        _recompute_after(tenant=tenant, actor=actor, result=result, reason="purchase lines transferred")
    return result


def _recompute_after(*, tenant: Tenant, actor: Any, result: ReceiveResult, reason: str) -> None:
    """Ask the engine for one recompute when a run transferred lines (the balance counts them)."""
    if result.transferred:
        from requirements_engine.services import recompute_request

        transaction.on_commit(lambda: recompute_request(tenant=tenant, reason=reason, actor=actor))


def _outcome_fields(c: Checked) -> dict[str, Any]:
    ok = c.passes and c.entitlement is not None
    return {
        **c.columns,
        "status": LineStatus.WAITING,  # the transfer claims it afterwards
        "reasons": [i.as_dict() for i in c.errors] if not ok else [],
        "warnings": [{**i.as_dict(), "severity": i.severity} for i in c.notes],
        "reason_codes": c.reason_codes,
    }


def _transfer(*, tenant: Tenant, actor: Any, pairs: Sequence[tuple[PurchaseLine, Checked]], rules: Rules) -> list[int]:
    """Hand clean lines to the entitlements service and mark them transferred (inside the caller's transaction).

    Lines are claimed with a conditional UPDATE first, so two runs never transfer one line twice.
    """
    if not pairs:
        return []
    ids = [line.pk for line, _c in pairs]
    claimed: set[int] = set()
    for chunk in iter_chunks(ids, IN_CHUNK):
        claimed.update(PurchaseLine.objects.select_for_update().filter(id__in=chunk, status=LineStatus.WAITING)
                       .values_list("id", flat=True))
    pairs = [(line, c) for line, c in pairs if line.pk in claimed]
    if not pairs:
        return []
    created = _create_entitlements(tenant=tenant, actor=actor, rules=rules,
                                   rows=[{**c.entitlement, "purchase_line_id": line.pk} for line, c in pairs])
    now = timezone.now()
    user = actor if hasattr(actor, "username") else None
    for chunk in iter_chunks([line.pk for line, _c in pairs], IN_CHUNK):
        PurchaseLine.objects.filter(id__in=chunk).update(status=LineStatus.TRANSFERRED, transferred_at=now,
                                                         reasons=[], reason_codes="", cleared_by=user)
    for line, _c in pairs:
        line.status, line.transferred_at, line.reasons, line.reason_codes = LineStatus.TRANSFERRED, now, [], ""
        line.cleared_by = user
    return created


def _create_entitlements(*, tenant: Tenant, actor: Any, rules: Rules, rows: list[dict[str, Any]]) -> list[int]:
    """Hand clean lines' entitlement rows to the entitlements service (the only writer of entitlements).

    One recompute per receive/revalidate run (see ``_recompute_after``), not one per chunk.
    """
    if not rows:
        return []
    from entitlements.services import entitlements_create_many

    created = entitlements_create_many(tenant=tenant, actor=actor, rows=rows, publish=not rules.as_draft,
                                       recompute=False)
    return [e.pk for e in created]


def receiving_revalidate(
    *,
    tenant: Tenant,
    actor: Any = None,
    line_ids: Iterable[int] | None = None,
    batch: ImportBatch | None = None,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
) -> ReceiveResult:
    """Validate waiting lines again and transfer those that now pass.

    Call it after anything a check reads has changed: a catalog, person, cost center or contract
    import, a new SKU alias, a corrected line. Without ``line_ids``/``batch`` every waiting line of
    the tenant is checked, chunk by chunk in id order, with a bounded number of queries per chunk.
    """
    rules = Rules.for_tenant(tenant)
    result = ReceiveResult()
    base = PurchaseLine.objects.filter(status=LineStatus.WAITING)
    if batch is not None:
        base = base.filter(batch=batch)
    wanted = sorted(set(line_ids)) if line_ids is not None else None
    if wanted is not None and not wanted:
        return result
    total = len(wanted) if wanted is not None else base.count()
    seen: dict = {}
    done = 0
    for lines in _waiting_chunks(base, wanted, chunk_size):
        with transaction.atomic():
            checked = check_lines(tenant=tenant, items=[(line.pk, line.values, _options(line.batch)) for line in lines],
                                  rules=rules, seen=seen)
            changed = []
            for line, c in zip(lines, checked, strict=False):
                fields = _outcome_fields(c)
                if any(getattr(line, k) != v for k, v in fields.items()):
                    for k, v in fields.items():
                        setattr(line, k, v)
                    changed.append(line)
            if changed:
                PurchaseLine.objects.bulk_update(changed, [*LINE_COLUMNS, "reasons", "warnings", "reason_codes"],
                                                 batch_size=500)
            pairs = [(line, c) for line, c in zip(lines, checked, strict=False) if c.passes and c.entitlement is not None]
            result.entitlement_ids += _transfer(tenant=tenant, actor=actor, pairs=pairs, rules=rules)
        result.read += len(lines)
        result.transferred += len(pairs)
        result.waiting += len(lines) - len(pairs)
        for c in checked:
            for issue in c.errors:
                result.reasons[issue.code] += 1
        done += len(lines)
        if progress and total:
            progress(int(done * 100 / total), _("%(done)d of %(total)d lines checked again") % {"done": done, "total": total})
    _recompute_after(tenant=tenant, actor=actor, result=result, reason="purchase lines cleared")
    return result


def _waiting_chunks(base, wanted: list[int] | None, chunk_size: int):
    """Waiting lines in id order, a chunk at a time (keyset paging; ids given are taken in windows)."""
    if wanted is not None:
        for window in iter_chunks(wanted, min(chunk_size, IN_CHUNK)):
            lines = list(base.filter(id__in=window).order_by("id").select_related("batch"))
            if lines:
                yield lines
        return
    last_id = 0
    while True:
        lines = list(base.filter(id__gt=last_id).order_by("id").select_related("batch")[:chunk_size])
        if not lines:
            return
        last_id = lines[-1].pk
        yield lines


def _options(batch: ImportBatch) -> Options:
    return Options(date_format=batch.date_format, decimal_separator=batch.decimal_separator or ".",
                   default_currency=batch.default_currency)


# ---------------------------------------------------------------------------------------------
# Corrections in the queue


class NotWaiting(ValueError):
    """Only waiting lines can be corrected or rejected."""


def line_correct(*, line: PurchaseLine, actor: Any, changes: dict[str, str]) -> PurchaseLine:
    """Correct values of a waiting line (``raw`` stays as received), audit it, and check it again."""
    if line.status != LineStatus.WAITING:
        raise NotWaiting(_("Line %(id)s is %(status)s; only waiting lines can be corrected.")
                         % {"id": line.pk, "status": line.get_status_display()})
    changes = {k: ("" if v is None else str(v).strip()) for k, v in changes.items() if k in CANONICAL}
    before = {k: line.values.get(k, "") for k in changes}
    changes = {k: v for k, v in changes.items() if before.get(k, "") != v}
    if not changes:
        return line
    with transaction.atomic():
        line.values = {**line.values, **changes}
        line.save(update_fields=["values", "updated_at"])
        audit_record(tenant=line.tenant, actor=actor, action="receiving.line.corrected", obj=line,
                     before={k: before[k] for k in changes}, after=changes)
        receiving_revalidate(tenant=line.tenant, actor=actor, line_ids=[line.pk])
    line.refresh_from_db()
    return line


def lines_set_value(*, tenant: Tenant, actor: Any, line_ids: Iterable[int], column: str, value: str,
                    note: str = "") -> ReceiveResult:
    """Give the selected waiting lines one value of ``column`` (a bulk correction, audited per line),
    then check them again; those that now pass are transferred."""
    if column not in CANONICAL:
        raise ValueError(f"{column!r} is not a column of a purchase line")
    code = (value or "").strip()
    ids = _waiting_ids(line_ids)
    with transaction.atomic():
        lines = list(PurchaseLine.objects.select_for_update().filter(id__in=ids))
        changed = []
        for line in lines:
            before = line.values.get(column, "")
            if before == code:
                continue
            line.values = {**line.values, column: code}
            changed.append(line)
            audit_record(tenant=tenant, actor=actor, action="receiving.line.corrected", obj=line,
                         before={column: before}, after={column: code}, note=note or f"bulk: set {column}")
        PurchaseLine.objects.bulk_update(changed, ["values"], batch_size=500)
        return receiving_revalidate(tenant=tenant, actor=actor, line_ids=ids)


def lines_set_cost_center(*, tenant: Tenant, actor: Any, line_ids: Iterable[int], cost_center: str) -> ReceiveResult:
    """Give the selected waiting lines one cost center (see :func:`lines_set_value`)."""
    return lines_set_value(tenant=tenant, actor=actor, line_ids=line_ids, column="cost_center", value=cost_center,
                           note="bulk: set cost center")


def _waiting_ids(line_ids: Iterable[int]) -> list[int]:
    """The waiting lines among ``line_ids`` in the active scope (others' ids simply do not exist)."""
    wanted = sorted({int(i) for i in line_ids})
    found: list[int] = []
    for chunk in iter_chunks(wanted, IN_CHUNK):
        found += PurchaseLine.objects.filter(id__in=chunk, status=LineStatus.WAITING).values_list("id", flat=True)
    return sorted(found)


def line_reject(*, line: PurchaseLine, actor: Any, note: str) -> PurchaseLine:
    """Reject a waiting line for good: it stays (as evidence) but leaves the queue and never transfers."""
    if line.status != LineStatus.WAITING:
        raise NotWaiting(_("Only waiting lines can be rejected."))
    lines_reject(tenant=line.tenant, actor=actor, line_ids=[line.pk], note=note)
    line.refresh_from_db()
    return line


def lines_reject(*, tenant: Tenant, actor: Any, line_ids: Iterable[int], note: str) -> int:
    """Reject the selected waiting lines for good (a note is required), audited per line.

    They stay as evidence but leave the queue and never transfer. Lines held back as duplicates of
    them are checked again, since a rejected line no longer counts as received. Returns the count.
    """
    note = (note or "").strip()
    if not note:
        raise ValueError(_("Say why the line is rejected."))
    ids = _waiting_ids(line_ids)
    if not ids:
        return 0
    user = actor if hasattr(actor, "username") else None
    with transaction.atomic():
        now = timezone.now()
        keys = []
        for chunk in iter_chunks(ids, IN_CHUNK):
            lines = list(PurchaseLine.objects.select_for_update().filter(id__in=chunk, status=LineStatus.WAITING))
            for line in lines:
                audit_record(tenant=tenant, actor=actor, action="receiving.line.rejected", obj=line,
                             before={"status": line.status, "rejection_note": line.rejection_note},
                             after={"status": LineStatus.REJECTED, "rejection_note": note[:500]})
                keys.append((line.po_number, line.po_line, line.invoice_number))
            PurchaseLine.objects.filter(id__in=[line.pk for line in lines]).update(
                status=LineStatus.REJECTED, rejected_at=now, rejected_by=user, rejection_note=note[:500],
                reason_codes="", updated_at=now)
        # A rejected line no longer counts as received before: its duplicates may pass now.
        pos = sorted({po for po, pl, _i in keys if po and pl})
        invoices = sorted({inv for po, pl, inv in keys if inv and not (po and pl)})
        twins = PurchaseLine.objects.filter(status=LineStatus.WAITING, reason_codes__contains=",duplicate.")
        cond = Q(pk__in=[])
        if pos:
            cond |= Q(po_number__in=pos)
        if invoices:
            cond |= Q(invoice_number__in=invoices)
        twin_ids = list(twins.filter(cond).values_list("id", flat=True))
        if twin_ids:
            receiving_revalidate(tenant=tenant, actor=actor, line_ids=twin_ids)
    return len(ids)


def lines_assign(*, tenant: Tenant, actor: Any, line_ids: Iterable[int], assignee: Any | None) -> int:
    """Give the selected waiting lines to a clerk (``assignee=None`` releases them); one audit row.

    The assignee must hold ``receiving.change`` in this tenant. Returns the number of lines changed.
    """
    from sam.models import Membership

    if assignee is not None:
        member = Membership.objects.filter(tenant=tenant, user=assignee).first()
        if member is None or not member.has_perm("receiving.change"):
            raise ValueError(_("%(u)s does not clear this tenant's lines.") % {"u": assignee})
    ids = _waiting_ids(line_ids)
    target = assignee.pk if assignee is not None else None
    with transaction.atomic():
        changed = 0
        for chunk in iter_chunks(ids, IN_CHUNK):
            changed += (PurchaseLine.objects.filter(id__in=chunk).exclude(assigned_to_id=target) if target else
                        PurchaseLine.objects.filter(id__in=chunk, assigned_to__isnull=False)).update(
                assigned_to_id=target, assigned_at=timezone.now() if target else None)
        if changed:
            audit_record(tenant=tenant, actor=actor, action="receiving.lines.assigned", object_type="receiving.purchaseline",
                         object_repr=_("%(n)d lines") % {"n": changed},
                         after={"assigned_to": str(assignee) if assignee else None, "lines": changed,
                                "ids": ids[:200]})
    return changed


BULK_ACTIONS = ("reject", "recheck", "contract", "cost_center", "assign", "unassign")


def lines_bulk(*, tenant: Tenant, actor: Any, action: str, line_ids: Iterable[int], value: str = "",
               assignee: Any | None = None) -> dict[str, int]:
    """One bulk action on waiting lines of one tenant; the queue and the workspace both call this.

    ``reject`` (``value`` is the note), ``recheck``, ``contract`` / ``cost_center`` (``value`` is
    the new value), ``assign`` (``assignee``), ``unassign``. Returns counts for the message:
    ``lines`` acted on and ``transferred``.
    """
    ids = _waiting_ids(line_ids)
    if action == "reject":
        return {"lines": lines_reject(tenant=tenant, actor=actor, line_ids=ids, note=value), "transferred": 0}
    if action == "recheck":
        result = receiving_revalidate(tenant=tenant, actor=actor, line_ids=ids)
        return {"lines": result.read, "transferred": result.transferred}
    if action in ("contract", "cost_center"):
        column = "contract_number" if action == "contract" else "cost_center"
        result = lines_set_value(tenant=tenant, actor=actor, line_ids=ids, column=column, value=value,
                                 note=f"bulk: set {column}")
        return {"lines": result.read, "transferred": result.transferred}
    if action == "assign":
        if assignee is None:
            raise ValueError(_("Choose the clerk to assign the lines to."))
        return {"lines": lines_assign(tenant=tenant, actor=actor, line_ids=ids, assignee=assignee), "transferred": 0}
    if action == "unassign":
        return {"lines": lines_assign(tenant=tenant, actor=actor, line_ids=ids, assignee=None), "transferred": 0}
    raise ValueError(f"unknown bulk action {action!r}")


def line_enter(*, tenant: Tenant, actor: Any, values: dict[str, str]) -> ReceiveResult:
    """Manual entry: one purchase that never passed through procurement, into receiving inspection.

    The same path as a file's line (a batch of its own, source ``manual``): the same validation, and
    a clean line transfers at once while a faulty one waits in the queue with its reasons.
    """
    from receiving.models import BatchSource

    clean = {k: ("" if values.get(k) is None else str(values[k]).strip()) for k in CANONICAL if k in values}
    if not any(clean.values()):
        raise ValueError(_("Enter at least the part number and the quantity."))
    return receiving_receive(tenant=tenant, actor=actor, rows=[(1, clean)], source=BatchSource.MANUAL,
                             filename=_("manual entry"))


class AliasScope:
    TENANT = "tenant"  # for this customer: the tenant's own alias
    LIBRARY = "library"  # for all customers: the service's alias library


def sku_alias_map(*, tenant: Tenant, actor: Any, alias: str, part_number: str, scope: str = AliasScope.TENANT,
                  supplier: str = "") -> ReceiveResult:
    """Map an unknown part number to a catalog SKU and clear every line waiting on it.

    ``scope`` ``tenant`` stores the tenant's own alias ("for this customer"); ``library`` stores it
    in the service's alias library ("for all customers"), which needs the library permission
    (``catalog.aliases.alias_library_can_edit``) and then clears the lines waiting on it in every
    tenant. The catalog's alias service writes and audits the alias; this tenant's audit also records
    the mapping. Returns what happened in this tenant.
    """
    from catalog.aliases import AliasError, alias_library_can_edit, sku_alias_save

    alias, part_number = (alias or "").strip(), (part_number or "").strip()
    if not alias or not part_number:
        raise ValueError(_("Give the part number and the catalog SKU it means."))
    if scope not in (AliasScope.TENANT, AliasScope.LIBRARY):
        raise ValueError(f"unknown alias scope {scope!r}")
    if scope == AliasScope.LIBRARY and not alias_library_can_edit(user=actor):
        raise PermissionDenied(_("Only the clearing service's managers may add to the alias library."))
    with transaction.atomic():
        try:
            row = sku_alias_save(tenant=tenant if scope == AliasScope.TENANT else None, actor=actor, alias=alias,
                                 part_number=part_number, supplier=supplier, audit_tenant=tenant, notify=False)
        except AliasError as exc:
            raise ValueError(str(exc)) from exc
        ids = _lines_waiting_on(aliases=[alias])
        audit_record(tenant=tenant, actor=actor, action="receiving.sku.mapped", object_type=row._meta.label_lower,
                     object_id=str(row.pk), object_repr=f"{alias} → {row.part_number}", before={"sku": alias},
                     after={"sku": row.part_number, "lines": len(ids), "scope": scope, "supplier": supplier})
        result = receiving_revalidate(tenant=tenant, actor=actor, line_ids=ids)
    if scope == AliasScope.LIBRARY:
        receiving_aliases_changed(tenant=None, aliases=[alias], actor=actor, skip=tenant)
    return result


def _lines_waiting_on(*, aliases: Iterable[str]) -> list[int]:
    wanted = sorted({a.strip().upper() for a in aliases if a and a.strip()})
    if not wanted:
        return []
    return list(PurchaseLine.objects.filter(status=LineStatus.WAITING).annotate(_s=Upper("sku"))
                .filter(_s__in=wanted).values_list("id", flat=True))


def receiving_aliases_changed(*, tenant: Tenant | None, aliases: list[str], actor: Any,
                              skip: Tenant | None = None) -> int:
    """Check the lines waiting on changed aliases again (a tenant's, or the library's in every tenant).

    Registered with ``catalog.aliases.alias_listeners``. For the library, the tenants with such lines
    are found with one named, unscoped query; each is then checked inside its own scope. Returns the
    number of lines transferred.
    """
    from django_scopes import scope as tenant_scope

    if tenant is not None:
        targets = [tenant]
    else:
        wanted = sorted({a.strip().upper() for a in aliases if a and a.strip()})
        with scopes_disabled():  # which tenants have lines waiting on a library alias
            tenant_ids = set(PurchaseLine.objects.filter(status=LineStatus.WAITING).annotate(_s=Upper("sku"))
                             .filter(_s__in=wanted).values_list("tenant_id", flat=True).distinct())
        targets = list(Tenant.objects.filter(pk__in=tenant_ids).order_by("pk"))
    transferred = 0
    for target in targets:
        if skip is not None and target.pk == skip.pk:
            continue
        with tenant_scope(tenant=target):
            ids = _lines_waiting_on(aliases=aliases)
            if ids:
                transferred += receiving_revalidate(tenant=target, actor=actor, line_ids=ids).transferred
    return transferred


# ---------------------------------------------------------------------------------------------
# Undo


class UndoBlocked(Exception):
    """The batch cannot be undone: entitlements made from it were changed since."""

    def __init__(self, blockers: list[str]):
        super().__init__("; ".join(blockers))
        self.blockers = blockers


def batch_undo(*, batch: ImportBatch, actor: Any) -> int:
    """Undo a batch: withdraw its entitlements and set its lines aside, all or nothing.

    An entitlement somebody changed after the transfer blocks the undo (``UndoBlocked`` names each
    one); nothing is withdrawn then. The lines stay as evidence, rejected with a note, and the
    file may be imported again. Returns the number of entitlements withdrawn.
    """
    from entitlements.models import Entitlement
    from entitlements.services import EntitlementChanged, entitlement_withdraw

    if batch.undone_at is not None:
        raise UndoBlocked([_("Batch %(id)s was already undone.") % {"id": batch.pk}])
    blockers: list[str] = []
    withdrawn = 0
    with transaction.atomic():
        entitlements = list(Entitlement.objects.filter(purchase_line__batch=batch).select_related("purchase_line")
                            .order_by("id"))
        for entitlement in entitlements:
            line = entitlement.purchase_line
            try:
                with transaction.atomic():
                    entitlement_withdraw(entitlement=entitlement, actor=actor)
                withdrawn += 1
            except EntitlementChanged as exc:
                blockers.append(_("Entitlement %(e)s (from PO %(po)s line %(line)s) was changed since the transfer: "
                                  "%(why)s") % {"e": entitlement.pk, "po": line.po_number if line else "",
                                                "line": line.po_line if line else "", "why": exc})
        if blockers:
            transaction.set_rollback(True)
            raise UndoBlocked(blockers)
        now = timezone.now()
        counts = dict(Counter(batch.lines.values_list("status", flat=True)))
        batch.lines.exclude(status=LineStatus.REJECTED).update(
            status=LineStatus.REJECTED, rejected_at=now, rejected_by=actor if hasattr(actor, "username") else None,
            rejection_note=_("Batch undone"), reason_codes="")
        batch.undone_at = now
        batch.undone_by = actor if hasattr(actor, "username") else None
        batch.save(update_fields=["undone_at", "undone_by"])
        audit_record(tenant=batch.tenant, actor=actor, action="receiving.batch.undone", obj=batch,
                     before={"lines": counts}, after={"entitlements_withdrawn": withdrawn})
        # Lines held back as duplicates of this batch's lines may pass now.
        dupes = list(PurchaseLine.objects.filter(status=LineStatus.WAITING, reason_codes__contains=",duplicate.")
                     .values_list("id", flat=True))
        if dupes:
            receiving_revalidate(tenant=batch.tenant, actor=actor, line_ids=dupes)
    return withdrawn


# ---------------------------------------------------------------------------------------------
# API tokens, profiles, settings

TOKEN_PREFIX = "samr_"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, tenant: Tenant, actor: Any, name: str) -> tuple[ApiToken, str]:
    """Create a push token; returns it with the plain text, which is shown once and never stored."""
    name = (name or "").strip()[:100]
    if not name:
        raise ValueError(_("Give the token a name (the procurement system that uses it)."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(tenant=tenant, name=name, prefix=raw[:12], digest=_digest(raw),
                                        created_by=actor if hasattr(actor, "username") else None)
        audit_record(tenant=tenant, actor=actor, action="receiving.api_token.created", obj=token,
                     after={"name": name, "prefix": token.prefix})
    return token, raw


def api_token_revoke(*, token: ApiToken, actor: Any) -> ApiToken:
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(tenant=token.tenant, actor=actor, action="receiving.api_token.revoked", obj=token,
                         before={"active": True}, after={"active": False})
    return token


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token with this text, or None. Looked up by digest before any tenant is known,
    hence the one named, unscoped query of this app."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    with scopes_disabled():
        token = ApiToken.objects.select_related("tenant").filter(digest=_digest(raw), revoked_at__isnull=True).first()
        if token is not None and (token.last_used_at is None
                                  or timezone.now() - token.last_used_at > dt.timedelta(minutes=1)):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def import_profile_save(*, tenant: Tenant, actor: Any, name: str, mapping: dict[str, str], date_format: str = "",
                        decimal_separator: str = ".", default_currency: str = "") -> ImportProfile:
    """Create or replace a named column mapping (header in the file -> canonical column)."""
    name = (name or "").strip()[:100]
    if not name:
        raise ValueError(_("Give the profile a name."))
    mapping = {str(k).strip(): v for k, v in (mapping or {}).items() if v in CANONICAL and str(k).strip()}
    if decimal_separator not in (".", ","):
        raise ValueError(_("The decimal separator is a point or a comma."))
    if date_format:
        try:
            dt.date(2026, 3, 31).strftime(date_format)
            if "%" not in date_format:
                raise ValueError
        except ValueError as exc:
            raise ValueError(_("“%(f)s” is not a date format such as %%d.%%m.%%Y.") % {"f": date_format}) from exc
    with transaction.atomic():
        profile = ImportProfile.objects.filter(name=name).first()
        before = snapshot(profile) if profile else None
        if profile is None:
            profile = ImportProfile(tenant=tenant, name=name)
        profile.mapping, profile.date_format = mapping, date_format
        profile.decimal_separator, profile.default_currency = decimal_separator, (default_currency or "").upper()[:3]
        profile.save()
        audit_record(tenant=tenant, actor=actor, action="receiving.profile.saved", obj=profile, before=before,
                     after=snapshot(profile))
    return profile


def receiving_settings_update(*, tenant: Tenant, actor: Any, warnings: Iterable[str], require_contract: bool,
                              as_draft: bool, default_currency: str = "", require_cost_center: bool | None = None,
                              clear_within_days: int | None | str = "keep") -> Tenant:
    """Choose which checks only warn, whether a contract or a cost center is required, whether transfers
    are drafts, and the ageing target (lines cleared within N working days; ``None`` = no target).

    Waiting lines are checked again under the new settings. Returns the updated tenant.
    """
    from receiving.currencies import ISO_4217

    currency = (default_currency or "").strip().upper()
    if currency and currency not in ISO_4217:
        raise ValueError(_("“%(c)s” is not an ISO 4217 currency code.") % {"c": currency})
    new = {
        "receiving_warnings": sorted(c for c in set(warnings) if c in DOWNGRADABLE),
        "receiving_require_contract": bool(require_contract),
        "receiving_transfer_as_draft": bool(as_draft),
        "receiving_default_currency": currency,
    }
    if require_cost_center is not None:
        new["receiving_require_cost_center"] = bool(require_cost_center)
    if clear_within_days != "keep":
        if clear_within_days is not None and not (1 <= int(clear_within_days) <= 365):
            raise ValueError(_("The ageing target is between 1 and 365 working days."))
        new["receiving_clear_within_days"] = int(clear_within_days) if clear_within_days is not None else None
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        before = {k: (tenant.settings or {}).get(k) for k in new}
        tenant.settings = {**(tenant.settings or {}), **new}
        tenant.save(update_fields=["settings"])
        audit_record(tenant=tenant, actor=actor, action="receiving.settings.changed", object_type="sam.tenant",
                     object_id=str(tenant.pk), object_repr=str(tenant), before=before, after=new)
    # New rules may clear (or hold back) waiting lines: check them again under the new settings.
    receiving_revalidate(tenant=tenant, actor=actor)
    return tenant
