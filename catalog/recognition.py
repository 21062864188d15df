"""Software recognition: which product (if any) an installed application is.

An inventory scan reports installed applications as (publisher, name, version): a tenant's
*fingerprints*. Recognition rules (master and tenant, ``*`` wildcards, case-insensitive) classify
each fingerprint as a product, as irrelevant (drivers, updaters, runtimes), or leave it unknown for a
person to classify. A person's choice is final: rows with ``manual=True`` are never changed by rules.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from catalog.models import Classification, Product
from catalog.selectors import (
    FingerprintRuleData,
    fingerprint_rules_effective,
    products_visible,
    wildcard_regex,
)
from sam.audit import audit_record, snapshot
from sam.models import Tenant

UPDATE_CHUNK = 1000


class _Matcher:
    """The effective rules, compiled once and tried in precedence order.

    Rules with a literal publisher are indexed by it. Rules with a wildcard publisher are grouped by
    their publisher pattern, so each distinct pattern is tried once per fingerprint and only the rules
    of matching patterns are tried by name (the shipped catalog has hundreds of rules but a dozen
    publisher patterns). The winner is the matching rule earliest in precedence order, as before.
    """

    def __init__(self, rules: list[FingerprintRuleData]):
        self.by_publisher: dict[str, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]] = {}
        groups: dict[str, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]] = {}
        for order, rule in enumerate(rules):
            name_rx, version_rx = wildcard_regex(rule.name), wildcard_regex(rule.version or "*")
            if "*" in rule.publisher:
                groups.setdefault(rule.publisher.strip().lower(), []).append((order, rule, name_rx, version_rx))
            else:
                self.by_publisher.setdefault(rule.publisher.strip().lower(), []).append((order, rule, name_rx, version_rx))
        self.any_publisher: list[tuple[re.Pattern, list[tuple[int, FingerprintRuleData, re.Pattern, re.Pattern]]]] = [
            (wildcard_regex(pattern), entries) for pattern, entries in groups.items()]

    def match(self, publisher: str, name: str, version: str) -> FingerprintRuleData | None:
        publisher, name, version = (publisher or "").strip().lower(), (name or "").strip().lower(), (version or "").strip().lower()
        best: tuple[int, FingerprintRuleData] | None = None
        for order, rule, name_rx, version_rx in self.by_publisher.get(publisher, ()):
            if name_rx.match(name) and version_rx.match(version):
                best = (order, rule)
                break  # lists are in precedence order
        for pub_rx, entries in self.any_publisher:
            if not pub_rx.match(publisher):
                continue
            for order, rule, name_rx, version_rx in entries:
                if best is not None and order > best[0]:
                    break
                if name_rx.match(name) and version_rx.match(version):
                    best = (order, rule)
                    break
        return best[1] if best else None


def fingerprints_recognise(*, tenant: Tenant, fingerprint_ids: Iterable[int] | None = None) -> int:
    """Classify the tenant's fingerprints by the effective rules; return how many rows changed.

    Tenant rules come before master rules; among either, the most specific rule (longest literal
    name, then version, then publisher) wins. Unmatched rows become ``unknown`` without a product.
    Rows a person classified (``manual=True``) are left alone. Set-based: the rules are loaded once
    and changed rows are written with ``bulk_update`` in chunks. Call inside the tenant's scope.
    """
    from inventory.models import Fingerprint

    matcher = _Matcher(fingerprint_rules_effective(tenant=tenant))
    qs = Fingerprint.objects.filter(tenant=tenant, manual=False)
    if fingerprint_ids is not None:
        ids = list(fingerprint_ids)
        if not ids:
            return 0
        qs = qs.filter(pk__in=ids) if len(ids) <= 900 else qs
        wanted = set(ids)
    else:
        wanted = None
    changed: list[Any] = []
    total = 0
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
            if len(changed) >= UPDATE_CHUNK:
                total += _write(changed)
                changed = []
    total += _write(changed)
    return total


def _write(rows: list[Any]) -> int:
    if not rows:
        return 0
    from inventory.models import Fingerprint

    with transaction.atomic():
        Fingerprint.objects.bulk_update(rows, ["classification", "product"], batch_size=UPDATE_CHUNK)
    return len(rows)


def fingerprint_classify(*, tenant: Tenant, fingerprint: Any, classification: str, product: Product | None,
                         actor: Any) -> Any:
    """A person's classification of one fingerprint: final, audited, and the engine recomputes.

    ``classification`` is ``product`` (with a product the tenant sees), ``irrelevant``, or ``unknown``
    (which hands the row back to the rules: ``manual`` is cleared and the rules run on it again).
    """
    from requirements_engine.services import recompute_request

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
    recompute_request(tenant=tenant, reason="fingerprint classified", actor=actor)
    return fingerprint
