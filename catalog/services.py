"""Writing the catalog: product identities and the tenant's amendments, each change audited.

The master catalog is written by imports only (``import_data KIND FILE`` without ``--tenant``, staff);
tenants amend it with their own rows, which win over the master where both define the same key.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from catalog.expressions import ExpressionError, validate_expression
from catalog.models import (
    AssignmentKind,
    Classification,
    Product,
    Publisher,
    TenantBundleComponent,
    TenantEditionRank,
    TenantFingerprintRule,
    TenantLicenseModel,
    TenantProcessorModel,
    TenantProductAssignment,
    TenantProductTerms,
    TenantSku,
    TenantSkuAlias,
    version_key,
)
from catalog.selectors import license_model_names_ci, normalise_part_number, products_visible
from sam.audit import audit_record, snapshot
from sam.changes import change_record
from sam.hooks import hook_run
from sam.models import ChangeKind, Tenant

ProductKey = tuple[str, str, str, str]


def _key(publisher: str, title: str, version: str, edition: str) -> ProductKey:
    return ((publisher or "").strip(), (title or "").strip(), (version or "").strip(), (edition or "").strip())


def _lower(key: ProductKey) -> ProductKey:
    return tuple(p.lower() for p in key)  # type: ignore[return-value]


def _prefer(current: models.Model | None, candidate: models.Model, tenant: Tenant | None,
            *, own_first: bool) -> models.Model:
    """Pick between two visible rows of the same identity: the tenant's own or the master's.

    For the master (``tenant=None``) the master's row wins, else the oldest private one (to be
    promoted). Otherwise ``own_first`` says whether the tenant's own row beats the master's.
    """
    if current is None:
        return candidate
    if tenant is None:
        cand_master, cur_master = candidate.introduced_by_id is None, current.introduced_by_id is None
        if cand_master != cur_master:
            return candidate if cand_master else current
        return current if current.pk <= candidate.pk else candidate
    cand_own = tenant is not None and candidate.introduced_by_id == tenant.pk
    cur_own = tenant is not None and current.introduced_by_id == tenant.pk
    if cand_own != cur_own:
        return candidate if cand_own == own_first else current
    return current if current.pk <= candidate.pk else candidate


def _promote(rows: Iterable[models.Model], model: type[models.Model]) -> None:
    """Staff only (a master import): make tenant-introduced rows part of the shared master catalog."""
    ids = [r.pk for r in rows if r.introduced_by_id is not None]
    if ids:
        model.objects.filter(pk__in=ids).update(introduced_by=None)
        for r in rows:
            if r.pk in ids:
                r.introduced_by = None
                r.introduced_by_id = None


def publishers_get_or_create(*, names: Iterable[str], tenant: Tenant | None) -> dict[str, Publisher]:
    """Publishers by lower-cased name as the caller may see them, creating the missing ones (set-based).

    A tenant resolves a name to the master's publisher, else to its own; a name only another tenant
    introduced gets a new private row for this tenant (the other's stays hidden and unchanged, and
    nothing in the result tells that it exists). The master (``tenant=None``, staff) uses its own rows
    and promotes the oldest private row of that name when the master has none.
    """
    wanted = {n.strip().lower(): n.strip() for n in names if n and n.strip()}
    if not wanted:
        return {}

    def load() -> dict[str, Publisher]:
        found: dict[str, Publisher] = {}
        qs = Publisher.objects.annotate(_n=Lower("name")).filter(_n__in=list(wanted))
        if tenant is not None:
            qs = qs.filter(Q(introduced_by__isnull=True) | Q(introduced_by=tenant))
        for p in qs:
            key = p.name.lower()
            found[key] = _prefer(found.get(key), p, tenant, own_first=False)
        return found

    found = load()
    missing = [Publisher(name=wanted[n], introduced_by=tenant) for n in wanted if n not in found]
    if missing:
        Publisher.objects.bulk_create(missing, ignore_conflicts=True)
        found = load()
    if tenant is None:
        _promote(list(found.values()), Publisher)
    return found


def products_get_or_create(*, keys: Iterable[ProductKey], tenant: Tenant | None = None,
                           release_dates: dict[ProductKey, dt.date | None] | None = None,
                           created: set[ProductKey] | None = None, changed: set[ProductKey] | None = None,
                           ) -> dict[ProductKey, Product]:
    """Find or create many products by their four columns (set-based: a fixed number of queries).

    Publisher names and product columns match case-insensitively; new rows keep the spelling given.
    A tenant sees the master's products and its own; a product it names that is neither is created as
    its own private row (``introduced_by=tenant``), even when another tenant has a private row of the
    same identity: that row stays hidden and unchanged, and the ``created`` count is the same as if it
    did not exist. Where a tenant has its own row and the master one too, its own wins.

    A tenant never writes a shared row: ``release_dates`` update only rows the tenant introduced (new
    ones included); the date of a shared product is the tenant's amendment
    (``TenantProductTerms.release_date``, written by the catalog importer). The master (``tenant=None``,
    staff only) writes master rows and promotes the oldest private row of an identity it names.

    The result is keyed by the lower-cased key; the keys of new products are added to ``created``,
    those whose release date changed to ``changed`` (when given).
    """
    # Keys without publisher or title cannot name a product; they are left out of the result.
    wanted = {_lower(_key(*k)): _key(*k) for k in keys if _key(*k)[0] and _key(*k)[1]}
    if not wanted:
        return {}
    release_dates = {_lower(_key(*k)): v for k, v in (release_dates or {}).items()}
    pubs = publishers_get_or_create(names=[v[0] for v in wanted.values()], tenant=tenant)

    def load() -> dict[ProductKey, Product]:
        found: dict[ProductKey, Product] = {}
        qs = (Product.objects.select_related("publisher")
              .annotate(_p=Lower("publisher__name"), _t=Lower("title"))
              .filter(_p__in=list(pubs), _t__in=list({k[1] for k in wanted})))
        if tenant is not None:
            qs = qs.filter(Q(introduced_by__isnull=True) | Q(introduced_by=tenant))
        for p in qs:
            key = (p.publisher.name.lower(), p.title.lower(), p.version.lower(), p.edition.lower())
            if key not in wanted:
                continue
            found[key] = _prefer(found.get(key), p, tenant, own_first=True)
        return found

    products = load()
    new = []
    for lkey, key in wanted.items():
        if lkey not in products:
            new.append(Product(publisher=pubs[lkey[0]], title=key[1], version=key[2], edition=key[3],
                               version_sort=version_key(key[2]), release_date=release_dates.get(lkey),
                               introduced_by=tenant))
    if new:
        Product.objects.bulk_create(new, ignore_conflicts=True)
        products = load()
        if created is not None:
            created.update(_lower((p.publisher.name, p.title, p.version, p.edition)) for p in new)
    if tenant is None:
        promote = [p for p in products.values() if p.introduced_by_id is not None]
        for p in promote:
            # a promoted product belongs to the master's publisher of its name
            master_pub = pubs[p.publisher.name.lower()]
            if p.publisher_id != master_pub.pk:
                Product.objects.filter(pk=p.pk).update(publisher=master_pub)
                p.publisher = master_pub
        _promote(promote, Product)
    dated = []
    for lkey, date in release_dates.items():
        p = products.get(lkey)
        if p is None or date is None or p.release_date == date:
            continue
        if tenant is not None and p.introduced_by_id != tenant.pk:
            continue  # a shared row: the importer writes the tenant's amendment instead
        p.release_date = date
        dated.append(p)
        if changed is not None:
            changed.add(lkey)
    if dated:
        Product.objects.bulk_update(dated, ["release_date"], batch_size=500)
    return products


def product_get_or_create(*, publisher: str, title: str, version: str, edition: str, tenant: Tenant | None = None,
                          release_date: dt.date | None = None) -> Product:
    """Find or create one product (and its publisher) by its four columns.

    Created rows carry ``introduced_by=tenant`` so another tenant does not see them (see
    ``products_get_or_create``). Raises ``ValueError`` without publisher or title.
    """
    key = _key(publisher, title, version, edition)
    if not key[0] or not key[1]:
        raise ValueError("a product needs a publisher and a title")
    dates = {key: release_date} if release_date else None
    return products_get_or_create(keys=[key], tenant=tenant, release_dates=dates)[_lower(key)]


# --- license models ------------------------------------------------------------------------------


def license_model_validate(*, instance: models.Model) -> None:
    """Raise ValidationError when a license model is unusable (bad expression, empty name, bad choice)."""
    errors: dict[str, list[str]] = {}
    if not (instance.name or "").strip():
        errors.setdefault("name", []).append(_("A license model needs a name."))
    try:
        instance.quantity = validate_expression(instance.quantity or "1")
    except ExpressionError as exc:
        errors.setdefault("quantity", []).append(_("The quantity expression is not valid: %(e)s") % {"e": exc})
    if errors:
        raise ValidationError(errors)


# --- tenant amendments ---------------------------------------------------------------------------

AMENDMENTS: dict[str, type[models.Model]] = {
    "sku": TenantSku,
    "alias": TenantSkuAlias,
    "license_model": TenantLicenseModel,
    "fingerprint_rule": TenantFingerprintRule,
    "product_terms": TenantProductTerms,
    "edition_rank": TenantEditionRank,
    "processor": TenantProcessorModel,
    "assignment": TenantProductAssignment,
    "bundle": TenantBundleComponent,
}


def _visible(tenant: Tenant, *ids: int | None) -> bool:
    wanted = {i for i in ids if i}
    return products_visible(tenant=tenant).filter(pk__in=wanted).count() == len(wanted)


def _rules_validate(*, tenant: Tenant, instance: models.Model) -> None:
    """Product terms, edition ranks, processors, assignments and bundle components (amendment forms)."""
    if isinstance(instance, TenantProductTerms):
        if not instance.product_id or not _visible(tenant, instance.product_id):
            raise ValidationError({"product": _("Choose a product of the catalog.")})
        if instance.default_license_model:
            names = license_model_names_ci(tenant=tenant)
            if instance.default_license_model.lower() not in names:
                raise ValidationError({"default_license_model": _("Unknown license model.")})
            instance.default_license_model = names[instance.default_license_model.lower()]
    elif isinstance(instance, TenantEditionRank):
        for name in ("publisher", "title", "edition"):
            setattr(instance, name, (getattr(instance, name) or "").strip())
            if not getattr(instance, name):
                raise ValidationError({name: _("This field is required.")})
    elif isinstance(instance, TenantProcessorModel):
        instance.model = (instance.model or "").strip()
        if not instance.model:
            raise ValidationError({"model": _("Name the processor model (* wildcards allowed).")})
        if instance.core_factor is not None and instance.core_factor <= 0:
            raise ValidationError({"core_factor": _("A core factor is above zero.")})
    elif isinstance(instance, TenantProductAssignment):
        instance.key = (instance.key or "").strip()
        if instance.kind == AssignmentKind.DEPENDENCY:
            instance.key = ""
            if not instance.source_product_id:
                raise ValidationError({"source_product": _("A dependency rule names the product that brings this one.")})
            if instance.source_product_id == instance.product_id:
                raise ValidationError({"source_product": _("A product cannot require itself.")})
        else:
            instance.source_product = None
            if not instance.key:
                raise ValidationError({"key": _("Name the group, executable or service.")})
        if not _visible(tenant, instance.product_id, instance.source_product_id):
            raise ValidationError({"product": _("Choose a product of the catalog.")})
    elif isinstance(instance, TenantBundleComponent):
        if instance.bundle_id == instance.component_id:
            raise ValidationError({"component": _("A suite cannot contain itself.")})
        if not _visible(tenant, instance.bundle_id, instance.component_id):
            raise ValidationError({"component": _("Choose products of the catalog.")})


def _amendment_validate(*, tenant: Tenant, instance: models.Model) -> None:
    _rules_validate(tenant=tenant, instance=instance)
    if isinstance(instance, TenantLicenseModel):
        license_model_validate(instance=instance)
    elif isinstance(instance, TenantSku):
        instance.part_number = (instance.part_number or "").strip()
        if not instance.part_number:
            raise ValidationError({"part_number": _("A SKU needs a part number.")})
        if instance.product_id and not products_visible(tenant=tenant).filter(pk=instance.product_id).exists():
            raise ValidationError({"product": _("Unknown product.")})
        if instance.license_model:
            names = license_model_names_ci(tenant=tenant)
            if instance.license_model.lower() not in names:
                raise ValidationError({"license_model": _("Unknown license model.")})
            instance.license_model = names[instance.license_model.lower()]
    elif isinstance(instance, TenantSkuAlias):
        instance.alias = (instance.alias or "").strip()
        instance.part_number = (instance.part_number or "").strip()
        if not instance.alias or not instance.part_number:
            raise ValidationError(_("An alias needs its text and the part number it stands for."))
        if normalise_part_number(instance.alias) == normalise_part_number(instance.part_number):
            raise ValidationError({"alias": _("An alias cannot point to itself.")})
    elif isinstance(instance, TenantFingerprintRule):
        instance.version = (instance.version or "").strip() or "*"
        if instance.classification == Classification.PRODUCT and not instance.product_id:
            raise ValidationError({"product": _("Choose the product this installation is.")})
        if instance.classification != Classification.PRODUCT:
            instance.product = None
        if instance.product_id and not products_visible(tenant=tenant).filter(pk=instance.product_id).exists():
            raise ValidationError({"product": _("Unknown product.")})


def amendment_save(*, tenant: Tenant, actor: Any, instance: models.Model) -> models.Model:
    """Create or update one tenant amendment (any kind of ``AMENDMENTS``), audited.

    Validates the row (a license model's expression must parse), writes it with an audit event in the
    same transaction, re-runs recognition after a fingerprint rule change and asks for a recompute.
    Raises ``ValidationError`` (also for a duplicate key).
    """
    kind = next((k for k, m in AMENDMENTS.items() if isinstance(instance, m)), None)
    if kind is None:
        raise ValueError(f"{type(instance).__name__} is not a tenant amendment")
    instance.tenant = tenant
    _amendment_validate(tenant=tenant, instance=instance)
    created = instance.pk is None
    before = None
    if not created:
        before = snapshot(type(instance).objects.get(pk=instance.pk))
    try:
        with transaction.atomic():
            instance.save()
            audit_record(tenant=tenant, actor=actor, action=f"catalog.{kind}.{'created' if created else 'updated'}",
                         obj=instance, before=before, after=snapshot(instance))
            _after_amendment(tenant=tenant, actor=actor, kind=kind, instance=instance, before=before)
    except IntegrityError as exc:
        raise ValidationError(_("An amendment with this key already exists.")) from exc
    return instance


def amendment_delete(*, tenant: Tenant, actor: Any, instance: models.Model) -> None:
    """Delete one tenant amendment (the master's row, if any, applies again), audited."""
    kind = next((k for k, m in AMENDMENTS.items() if isinstance(instance, m)), None)
    if kind is None or instance.tenant_id != tenant.pk:
        raise ValueError("not an amendment of this tenant")
    with transaction.atomic():
        before = snapshot(instance)
        audit_record(tenant=tenant, actor=actor, action=f"catalog.{kind}.deleted", obj=instance, before=before)
        instance.delete()
        _after_amendment(tenant=tenant, actor=actor, kind=kind, instance=None, before=before)


def _after_amendment(*, tenant: Tenant, actor: Any, kind: str, instance: models.Model | None,
                     before: dict | None) -> None:
    """Record what the amendment changed for the engine, in the amendment's transaction.

    A SKU names its product (before and after); a license model may be used by any product, so it
    is a full change; a fingerprint rule re-runs recognition (inventory's ``recognition.rules_changed``
    hook records the devices whose software changed product). An alias only maps supplier part
    numbers for receiving: the engine does not read it.
    """
    reason = f"catalog {kind.replace('_', ' ')} changed"
    if kind == "fingerprint_rule":
        hook_run("recognition.rules_changed", tenant=tenant, actor=actor)
    elif kind == "sku":
        products = {getattr(instance, "product_id", None), (before or {}).get("product")}
        change_record(tenant=tenant, kind=ChangeKind.PRODUCTS, ids=[p for p in products if p], reason=reason,
                      actor=actor)
    elif kind == "license_model":
        change_record(tenant=tenant, kind=ChangeKind.FULL, reason=reason, actor=actor)