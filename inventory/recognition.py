"""Software recognition: which product (if any) an installed application is.

An inventory scan reports installed applications as (publisher, name, version): a tenant's
*fingerprints*. Recognition rules (master and tenant, ``*`` wildcards, case-insensitive) classify
each fingerprint as a product, as irrelevant (drivers, updaters, runtimes), or leave it unknown for a
person to classify. A person's choice is final: rows with ``manual=True`` are never changed by rules.

Recognition lives in inventory (it writes inventory's fingerprints from the catalog's rules). The
catalog announces a rule change through the ``recognition.rules_changed`` hook, which
``inventory.apps`` registers; the devices whose installations changed product are recorded as a
change event for the engine.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from catalog.matching import RuleMatcher
from catalog.models import Classification, Product
from catalog.selectors import fingerprint_rules_effective, products_visible
from inventory.models import Fingerprint, Installation
from sam.audit import audit_record, snapshot
from sam.changes import change_record
from sam.importing import iter_chunks
from sam.models import ChangeKind, Tenant

UPDATE_CHUNK = 1000
#: Past this many devices a recognition change is recorded as a full change (cheaper than the closure).
DEVICE_DELTA_LIMIT = 20_000


def fingerprints_recognise(*, tenant: Tenant, fingerprint_ids: Iterable[int] | None = None) -> int:
    """Classify the tenant's fingerprints by the effective rules; return how many rows changed.

    Tenant rules come before master rules; among either, the most specific rule (longest literal
    name, then version, then publisher) wins. Unmatched rows become ``unknown`` without a product.
    Rows a person classified (``manual=True``) are left alone. Set-based: the rules are loaded once
    and changed rows are written with ``bulk_update`` in chunks. Call inside the tenant's scope.
    """
    return len(_recognise(tenant=tenant, fingerprint_ids=fingerprint_ids))


def _recognise(*, tenant: Tenant, fingerprint_ids: Iterable[int] | None = None) -> list[int]:
    """The recognition run; returns the ids of the fingerprints whose classification changed."""
    matcher = RuleMatcher(fingerprint_rules_effective(tenant=tenant))
    qs = Fingerprint.objects.filter(tenant=tenant, manual=False)
    if fingerprint_ids is not None:
        ids = list(fingerprint_ids)
        if not ids:
            return []
        qs = qs.filter(pk__in=ids) if len(ids) <= 900 else qs
        wanted = set(ids)
    else:
        wanted = None
    changed: list[Any] = []
    changed_ids: list[int] = []
    rows = qs.values_list("pk", "publisher", "name", "version", "classification", "product_id")
    for pk, publisher, name, version, classification, product_id in rows.iterator(chunk_size=2000):
        if wanted is not None and pk not in wanted:
            continue
        rule = matcher.match(publisher, name, version)
        if rule is None:
            new_class, new_product = Classification.UNKNOWN, None
        else:
            new_class, new_product = rule.classification, rule.product_id
        if new_class != classification or new_product != product_id:
            changed.append(Fingerprint(pk=pk, tenant=tenant, classification=new_class, product_id=new_product))
            changed_ids.append(pk)
            if len(changed) >= UPDATE_CHUNK:
                _write(changed)
                changed = []
    _write(changed)
    return changed_ids


def fingerprints_changed_record(*, tenant: Tenant, fingerprint_ids: list[int], reason: str, actor: Any = None) -> None:
    """Record the devices with installations of these fingerprints as changed (one query per chunk)."""
    if not fingerprint_ids:
        return
    devices: set[int] = set()
    for chunk in iter_chunks(sorted(fingerprint_ids), 1000):
        devices.update(Installation.objects.filter(fingerprint_id__in=chunk).values_list("device_id", flat=True))
        if len(devices) > DEVICE_DELTA_LIMIT:
            change_record(tenant=tenant, kind=ChangeKind.FULL, reason=reason, actor=actor)
            return
    change_record(tenant=tenant, kind=ChangeKind.DEVICES, ids=devices, reason=reason, actor=actor)


def recognition_after_rules(*, tenant: Tenant, actor: Any = None) -> int:
    """The ``recognition.rules_changed`` hook: re-run recognition, record the devices it changed.

    Called inside the tenant's scope; returns how many fingerprints changed.
    """
    changed = _recognise(tenant=tenant)
    fingerprints_changed_record(tenant=tenant, fingerprint_ids=changed, reason="recognition rules changed",
                                actor=actor)
    return len(changed)


def _write(rows: list[Any]) -> int:
    if not rows:
        return 0
    with transaction.atomic():
        Fingerprint.objects.bulk_update(rows, ["classification", "product"], batch_size=UPDATE_CHUNK)
    return len(rows)


def fingerprint_classify(*, tenant: Tenant, fingerprint: Any, classification: str, product: Product | None,
                         actor: Any) -> Any:
    """A person's classification of one fingerprint: final, audited, and its devices recorded as changed.

    ``classification`` is ``product`` (with a product the tenant sees), ``irrelevant``, or ``unknown``
    (which hands the row back to the rules: ``manual`` is cleared and the rules run on it again).
    """
    if classification not in Classification.values:
        raise ValueError(f"unknown classification {classification!r}")
    if fingerprint.tenant_id != tenant.pk:
        raise ValueError("fingerprint of another tenant")
    if classification == Classification.PRODUCT:
        if product is None or not products_visible(tenant=tenant).filter(pk=product.pk).exists():
            raise ValueError("a product classification needs a product the tenant sees")
    else:
        product = None
    before = snapshot(fingerprint, ["classification", "product", "manual", "classified_by"])
    with transaction.atomic():
        fingerprint.classification = classification
        fingerprint.product = product
        fingerprint.manual = classification != Classification.UNKNOWN
        fingerprint.classified_by = getattr(actor, "username", str(actor or ""))[:150] if fingerprint.manual else ""
        fingerprint.save(update_fields=["classification", "product", "manual", "classified_by"])
        audit_record(tenant=tenant, actor=actor, action="catalog.fingerprint.classified", obj=fingerprint,
                     before=before, after=snapshot(fingerprint, ["classification", "product", "manual", "classified_by"]))
        if classification == Classification.UNKNOWN:
            fingerprints_recognise(tenant=tenant, fingerprint_ids=[fingerprint.pk])
            fingerprint.refresh_from_db()
        fingerprints_changed_record(tenant=tenant, fingerprint_ids=[fingerprint.pk], reason="fingerprint classified",
                                    actor=actor)
    return fingerprint
