"""Reading the catalog: the one place where the master catalog and a tenant's amendments are overlaid.

Every rule table exists twice: the master (global, edited by staff through imports) and the tenant's
amendments (scoped). Where both define the same key, the tenant's row wins. Call these selectors
inside the tenant's scope; ``tenant=None`` reads the master alone.

Each selector issues a fixed number of queries, whatever the size of the catalog or the input.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Upper

from catalog.models import (
    AssignmentKind,
    BundleComponent,
    Classification,
    EditionRank,
    FingerprintRule,
    LicenseModel,
    ProcessorModel,
    Product,
    ProductAssignment,
    ProductTerms,
    Publisher,
    Sku,
    SkuAlias,
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
from sam.models import Tenant

IN_CHUNK = 900  # keeps IN (...) lists below every backend's parameter limit


def _chunks(items: list, size: int = IN_CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def normalise_part_number(text: str) -> str:
    """Part numbers compare trimmed, upper-cased and with inner runs of whitespace collapsed."""
    return re.sub(r"\s+", " ", (text or "").strip()).upper()


# --- license models -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LicenseModelData:
    name: str
    assignment: str
    metric: str
    effective: bool
    quantity: str
    rounding: str
    description: str = ""
    is_tenant: bool = False


def _license_model_data(row, *, is_tenant: bool) -> LicenseModelData:
    return LicenseModelData(name=row.name, assignment=row.assignment, metric=row.metric, effective=row.effective,
                            quantity=row.quantity, rounding=row.rounding, description=row.description,
                            is_tenant=is_tenant)


def license_models_effective(*, tenant: Tenant | None) -> dict[str, LicenseModelData]:
    """All license models the tenant sees, by name: the master's, replaced by the tenant's of the same name."""
    out = {m.name: _license_model_data(m, is_tenant=False) for m in LicenseModel.objects.all()}
    if tenant is not None:
        for m in TenantLicenseModel.objects.filter(tenant=tenant):
            out[m.name] = _license_model_data(m, is_tenant=True)
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def license_model_names_ci(*, tenant: Tenant | None) -> dict[str, str]:
    """Lower-cased name -> the effective model's exact name (importers match names case-insensitively)."""
    return {name.lower(): name for name in license_models_effective(tenant=tenant)}


# --- product terms ------------------------------------------------------------------------------


@dataclass
class ProductTermsData:
    product_id: int
    default_license_model: str = ""
    min_entitlement_days: int = 0
    confirmation: str = "automatic"
    version_downgrade: bool = True
    version_upgrade: bool = False
    edition_downgrade: bool = False
    second_copy: bool = False
    multi_instance: bool = False
    is_tenant: bool = False
    has_row: bool = False
    release_date: dt.date | None = None  # the tenant's own date of a shared product (None: the product's)


TERMS_FIELDS = ("default_license_model", "min_entitlement_days", "confirmation", "version_downgrade",
                "version_upgrade", "edition_downgrade", "second_copy", "multi_instance")


def _terms_data(row, *, is_tenant: bool) -> ProductTermsData:
    return ProductTermsData(product_id=row.product_id, is_tenant=is_tenant, has_row=True,
                            release_date=getattr(row, "release_date", None),
                            **{f: getattr(row, f) for f in TERMS_FIELDS})


def product_terms_effective(*, tenant: Tenant | None, product_ids: Iterable[int] | None = None
                            ) -> dict[int, ProductTermsData]:
    """Use rights and settings per product id; products without any terms row get the defaults.

    With ``product_ids=None`` every product the tenant sees is returned.
    """
    if product_ids is None:
        ids = list(products_visible(tenant=tenant).values_list("pk", flat=True))
    else:
        ids = list(dict.fromkeys(int(i) for i in product_ids))
    out: dict[int, ProductTermsData] = {}
    for chunk in _chunks(ids):
        for row in ProductTerms.objects.filter(product_id__in=chunk):
            out[row.product_id] = _terms_data(row, is_tenant=False)
        if tenant is not None:
            for row in TenantProductTerms.objects.filter(tenant=tenant, product_id__in=chunk):
                out[row.product_id] = _terms_data(row, is_tenant=True)
    for pid in ids:
        out.setdefault(pid, ProductTermsData(product_id=pid))
    return out


# --- SKUs -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuData:
    part_number: str
    description: str
    product_id: int
    license_type: str
    license_model: str
    units: Decimal
    term_months: int | None
    version_downgrade: bool
    version_upgrade: bool
    edition_downgrade: bool
    list_price: Decimal | None
    currency: str
    is_tenant: bool
    pk: int = 0


SKU_FIELDS = ("part_number", "description", "product_id", "license_type", "license_model", "units", "term_months",
              "version_downgrade", "version_upgrade", "edition_downgrade", "list_price", "currency")


def _sku_data(row, *, is_tenant: bool) -> SkuData:
    return SkuData(is_tenant=is_tenant, pk=row.pk, **{f: getattr(row, f) for f in SKU_FIELDS})


def _sku_layers(*, tenant: Tenant | None, keys: list[str] | None) -> dict[str, list[SkuData]]:
    """Normalised part number -> the SKUs of the winning layer (several = ambiguous)."""
    master: dict[str, list[SkuData]] = {}
    mine: dict[str, list[SkuData]] = {}

    def load(qs, target, is_tenant):
        if keys is None:
            batches = [qs]
        else:
            batches = [qs.annotate(_pn=Upper("part_number")).filter(_pn__in=chunk) for chunk in _chunks(keys)]
        for batch in batches:
            for row in batch:
                target.setdefault(normalise_part_number(row.part_number), []).append(_sku_data(row, is_tenant=is_tenant))

    load(Sku.objects.all(), master, False)
    if tenant is not None:
        load(TenantSku.objects.filter(tenant=tenant), mine, True)
    master.update(mine)
    return master


def skus_effective(*, tenant: Tenant | None) -> dict[str, SkuData]:
    """Every SKU the tenant sees, keyed by the upper-cased part number; the tenant's replace the master's."""
    return {key: rows[0] for key, rows in sorted(_sku_layers(tenant=tenant, keys=None).items())}


def skus_effective_many(*, tenant: Tenant | None, part_numbers: Iterable[str]) -> dict[str, SkuData]:
    """The effective SKUs of some part numbers only, keyed by the normalised part number (bounded queries)."""
    keys = sorted({normalise_part_number(p) for p in part_numbers if normalise_part_number(p)})
    return {key: rows[0] for key, rows in _sku_layers(tenant=tenant, keys=keys).items()}


def skus_for_product(*, tenant: Tenant | None, product_id: int) -> list[SkuData]:
    """The effective SKUs that sell one product (a tenant SKU hides a master SKU with its part number)."""
    master = list(Sku.objects.filter(product_id=product_id))
    out = {normalise_part_number(s.part_number): _sku_data(s, is_tenant=False) for s in master}
    if tenant is not None:
        mine = list(TenantSku.objects.filter(tenant=tenant).filter(
            Q(product_id=product_id) | Q(part_number__in=[s.part_number for s in master])))
        for s in mine:
            key = normalise_part_number(s.part_number)
            if s.product_id == product_id:
                out[key] = _sku_data(s, is_tenant=True)
            else:
                out.pop(key, None)
    return sorted(out.values(), key=lambda s: s.part_number)


def skus_search(*, tenant: Tenant | None, q: str, limit: int = 20) -> list[SkuData]:
    """SKUs whose part number or description contains ``q`` (for autocomplete), tenant's first."""
    q = (q or "").strip()
    if not q:
        return []
    cond = Q(part_number__icontains=q) | Q(description__icontains=q)
    found: dict[str, SkuData] = {}
    for s in Sku.objects.filter(cond).order_by("part_number")[:limit]:
        found[normalise_part_number(s.part_number)] = _sku_data(s, is_tenant=False)
    if tenant is not None:
        for s in TenantSku.objects.filter(tenant=tenant).filter(cond).order_by("part_number")[:limit]:
            found[normalise_part_number(s.part_number)] = _sku_data(s, is_tenant=True)
    return sorted(found.values(), key=lambda s: (not s.is_tenant, s.part_number))[:limit]


@dataclass(frozen=True)
class SkuResolution:
    sku: SkuData | None
    via_alias: bool = False
    ambiguous: bool = False
    alias: str = ""
    alias_source: str = ""  # "tenant" (the tenant's own alias) or "library" (the service's alias library)


def sku_resolve_many(*, tenant: Tenant | None, part_numbers: Iterable[str]) -> dict[str, SkuResolution]:
    """Resolve many part numbers at once (a fixed number of queries per 900 distinct inputs).

    The result is keyed by the input text as given. Matching is case-insensitive and trims spaces.
    A direct part number wins over an alias; a tenant's alias wins over the library's alias of the same
    name. ``ambiguous`` is set (and ``sku`` left empty) when the text matches several SKUs, directly or
    through an alias. Aliases limited to one supplier do not apply here (no supplier is known); see
    :func:`sku_resolve_lines`.
    """
    inputs = list(dict.fromkeys(part_numbers))
    found = sku_resolve_lines(tenant=tenant, pairs=[(text, "") for text in inputs])
    return {text: found[(text, "")] for text in inputs}


def sku_resolve_lines(*, tenant: Tenant | None,
                      pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SkuResolution]:
    """Resolve (part number, supplier) pairs of purchase lines at once, keyed by the pair as given.

    Precedence, first match wins: the catalog part number itself; the tenant's alias for this
    supplier; the tenant's alias for any supplier; the library's alias for this supplier; the
    library's alias for any supplier. Suppliers compare ignoring case and surrounding spaces.
    A fixed number of queries per 900 distinct part numbers.
    """
    inputs = list(dict.fromkeys(pairs))
    keys = sorted({normalise_part_number(p) for p, _s in inputs if normalise_part_number(p)})
    # normalised alias -> normalised supplier ("" = any) -> target part numbers, per layer
    layers_alias: dict[str, dict[str, dict[str, list[tuple[str, str]]]]] = {"tenant": {}, "library": {}}
    for chunk in _chunks(keys):
        for a in SkuAlias.objects.annotate(_a=Upper("alias")).filter(_a__in=chunk):
            (layers_alias["library"].setdefault(normalise_part_number(a.alias), {})
             .setdefault(_supplier_key(a.supplier), []).append((a.alias, a.part_number)))
        if tenant is not None:
            for a in TenantSkuAlias.objects.filter(tenant=tenant).annotate(_a=Upper("alias")).filter(_a__in=chunk):
                (layers_alias["tenant"].setdefault(normalise_part_number(a.alias), {})
                 .setdefault(_supplier_key(a.supplier), []).append((a.alias, a.part_number)))
    wanted = sorted(set(keys) | {normalise_part_number(t) for layer in layers_alias.values() for per in layer.values()
                                 for rows in per.values() for _a, t in rows})
    layers = _sku_layers(tenant=tenant, keys=wanted)

    out: dict[tuple[str, str], SkuResolution] = {}
    for text, supplier in inputs:
        key = normalise_part_number(text)
        direct = layers.get(key, [])
        if direct:
            out[(text, supplier)] = SkuResolution(sku=direct[0] if len(direct) == 1 else None, ambiguous=len(direct) > 1)
            continue
        rows, source = [], ""
        for source in ("tenant", "library"):
            per = layers_alias[source].get(key, {})
            rows = per.get(_supplier_key(supplier), []) if supplier.strip() else []
            rows = rows or per.get("", [])
            if rows:
                break
        if not rows:
            out[(text, supplier)] = SkuResolution(sku=None)
            continue
        targets = sorted({normalise_part_number(t) for _a, t in rows})
        hits = [s for t in targets for s in layers.get(t, [])]
        out[(text, supplier)] = SkuResolution(sku=hits[0] if len(hits) == 1 else None, via_alias=True,
                                              ambiguous=len(hits) > 1, alias=rows[0][0], alias_source=source)
    return out


def _supplier_key(supplier: str) -> str:
    return " ".join((supplier or "").split()).lower()


def sku_resolve(*, tenant: Tenant | None, part_number: str) -> SkuResolution:
    """Resolve one part number (or alias) to the effective SKU; see :func:`sku_resolve_many`."""
    return sku_resolve_many(tenant=tenant, part_numbers=[part_number])[part_number]


@dataclass(frozen=True)
class AliasData:
    alias: str
    part_number: str
    is_tenant: bool
    pk: int = 0
    supplier: str = ""


def aliases_effective(*, tenant: Tenant | None) -> list[AliasData]:
    """All SKU aliases (a tenant's alias hides the library's alias of the same name and supplier)."""
    out = {(normalise_part_number(a.alias), _supplier_key(a.supplier)):
           AliasData(a.alias, a.part_number, False, a.pk, a.supplier) for a in SkuAlias.objects.all()}
    if tenant is not None:
        for a in TenantSkuAlias.objects.filter(tenant=tenant):
            out[(normalise_part_number(a.alias), _supplier_key(a.supplier))] = AliasData(
                a.alias, a.part_number, True, a.pk, a.supplier)
    return sorted(out.values(), key=lambda a: (a.alias.lower(), a.supplier.lower()))


# --- editions, processors ------------------------------------------------------------------------


def edition_ranks_effective(*, tenant: Tenant | None) -> dict[tuple[str, str, str], int]:
    """(publisher name, title, edition) -> rank; higher covers lower where edition downgrade is allowed."""
    out = {(r.publisher, r.title, r.edition): r.rank for r in EditionRank.objects.all()}
    if tenant is not None:
        for r in TenantEditionRank.objects.filter(tenant=tenant):
            out[(r.publisher, r.title, r.edition)] = r.rank
    return out


def edition_rank_lookup(*, tenant: Tenant | None) -> Callable[[str, str, str], int | None]:
    """A case-insensitive lookup ``(publisher, title, edition) -> rank or None`` over the effective ranks."""
    ranks = {tuple(p.lower() for p in key): rank for key, rank in edition_ranks_effective(tenant=tenant).items()}

    def lookup(publisher: str, title: str, edition: str) -> int | None:
        return ranks.get(((publisher or "").lower(), (title or "").lower(), (edition or "").lower()))

    return lookup


def wildcard_regex(pattern: str) -> re.Pattern:
    """A case-insensitive full-match regex for a pattern where only ``*`` is special (brackets are literal)."""
    text = (pattern or "").strip().lower()
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)) + r"\Z",
                      re.DOTALL)


def _literal_length(pattern: str) -> int:
    return len((pattern or "").replace("*", ""))


@dataclass(frozen=True)
class ProcessorData:
    model: str
    core_factor: Decimal | None
    pvu_per_core: int | None
    max_sockets: int | None
    is_tenant: bool


def processors_effective(*, tenant: Tenant | None) -> list[ProcessorData]:
    """The processor table: a tenant row replaces the master row with the same pattern and max_sockets."""
    out: dict[tuple[str, int | None], ProcessorData] = {}
    for row in ProcessorModel.objects.all():
        out[(row.model.lower(), row.max_sockets)] = ProcessorData(row.model, row.core_factor, row.pvu_per_core,
                                                                   row.max_sockets, False)
    if tenant is not None:
        for row in TenantProcessorModel.objects.filter(tenant=tenant):
            out[(row.model.lower(), row.max_sockets)] = ProcessorData(row.model, row.core_factor, row.pvu_per_core,
                                                                       row.max_sockets, True)
    return sorted(out.values(), key=lambda p: (p.model.lower(), p.max_sockets is None, p.max_sockets or 0))


def processor_lookup(*, tenant: Tenant | None) -> Callable[[str, int | None], tuple[Decimal | None, int | None]]:
    """A function ``(processor model, sockets) -> (core_factor, pvu_per_core)`` over the effective table.

    Patterns use ``*`` wildcards and match case-insensitively. Among matching rows the one with the
    smallest ``max_sockets`` not below the device's sockets wins; rows without ``max_sockets`` apply to
    any socket count and are used last. With unknown sockets only such rows apply, else the row with
    the largest ``max_sockets`` (the conservative value). Each value comes from the best row that has
    it, so an Oracle table (core factors) and an IBM table (PVUs) may be separate rows. Ties go to the
    most specific pattern, then to the tenant's row. Results are cached per call of the selector.
    """
    rows = [(p, wildcard_regex(p.model)) for p in processors_effective(tenant=tenant)]
    cache: dict[tuple[str, int | None], tuple[Decimal | None, int | None]] = {}

    def order(p: ProcessorData, sockets: int | None):
        if sockets is None:
            return (p.max_sockets is not None, -(p.max_sockets or 0), -_literal_length(p.model), not p.is_tenant)
        return (p.max_sockets is None, p.max_sockets or 0, -_literal_length(p.model), not p.is_tenant)

    def lookup(model: str, sockets: int | None) -> tuple[Decimal | None, int | None]:
        key = ((model or "").strip().lower(), sockets)
        if key in cache:
            return cache[key]
        matching = [p for p, rx in rows if rx.match(key[0])]
        if sockets is not None:
            matching = [p for p in matching if p.max_sockets is None or p.max_sockets >= sockets]
        matching.sort(key=lambda p: order(p, sockets))
        factor = next((p.core_factor for p in matching if p.core_factor is not None), None)
        pvu = next((p.pvu_per_core for p in matching if p.pvu_per_core is not None), None)
        cache[key] = (factor, pvu)
        return cache[key]

    return lookup


# --- fingerprint rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FingerprintRuleData:
    publisher: str
    name: str
    version: str
    classification: str
    product_id: int | None
    is_tenant: bool
    pk: int = 0

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Longer literal text is more specific: name first, then version, then publisher."""
        return (_literal_length(self.name), _literal_length(self.version), _literal_length(self.publisher))


def fingerprint_rules_effective(*, tenant: Tenant | None) -> list[FingerprintRuleData]:
    """Recognition rules in the order they are tried: the tenant's before the master's, each most specific first.

    A tenant rule with the same (publisher, name, version) patterns hides the master's rule.
    """
    def data(r, is_tenant):
        return FingerprintRuleData(r.publisher, r.name, r.version or "*", r.classification, r.product_id,
                                   is_tenant, r.pk)

    def key(r):
        return (r.publisher.lower(), r.name.lower(), (r.version or "*").lower())

    mine = [data(r, True) for r in TenantFingerprintRule.objects.filter(tenant=tenant)] if tenant else []
    hidden = {key(r) for r in mine}
    master = [data(r, False) for r in FingerprintRule.objects.all() if key(r) not in hidden]

    def rank(r: FingerprintRuleData):
        spec = r.specificity
        return (-spec[0], -spec[1], -spec[2], r.pk)

    return sorted(mine, key=rank) + sorted(master, key=rank)


# --- assignments, bundles ------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentData:
    kind: str
    key: str
    product_id: int
    source_product_id: int | None


def assignments_effective(*, tenant: Tenant | None, kind: str) -> list[AssignmentData]:
    """What links a configuration to a product, for one kind (group, executable, service, dependency).

    The tenant's rows for a key (a group name, an executable, a service, or for dependencies the
    source product) replace all master rows for that key. Keys compare case-insensitively.
    """
    if kind not in AssignmentKind.values:
        raise ValueError(f"unknown assignment kind {kind!r}")

    def group_key(a):
        return a.source_product_id if kind == AssignmentKind.DEPENDENCY else a.key.lower()

    def data(a):
        return AssignmentData(kind=a.kind, key=a.key, product_id=a.product_id, source_product_id=a.source_product_id)

    master = list(ProductAssignment.objects.filter(kind=kind))
    mine = list(TenantProductAssignment.objects.filter(tenant=tenant, kind=kind)) if tenant else []
    overridden = {group_key(a) for a in mine}
    rows = [data(a) for a in master if group_key(a) not in overridden] + [data(a) for a in mine]
    return sorted(rows, key=lambda a: (a.key.lower(), a.product_id, a.source_product_id or 0))


def bundle_components_effective(*, tenant: Tenant | None) -> dict[int, set[int]]:
    """Bundle product id -> its component product ids; a tenant's components for a bundle replace the master's."""
    master: dict[int, set[int]] = {}
    for b, c in BundleComponent.objects.values_list("bundle_id", "component_id"):
        master.setdefault(b, set()).add(c)
    if tenant is not None:
        mine: dict[int, set[int]] = {}
        for b, c in TenantBundleComponent.objects.filter(tenant=tenant).values_list("bundle_id", "component_id"):
            mine.setdefault(b, set()).add(c)
        master.update(mine)
    return master


# --- products ----------------------------------------------------------------------------------------


def products_visible(*, tenant: Tenant | None) -> QuerySet[Product]:
    """Products of the shared catalog plus those this tenant introduced (others' stay hidden)."""
    cond = Q(introduced_by__isnull=True)
    if tenant is not None:
        cond |= Q(introduced_by=tenant)
    return Product.objects.filter(cond)


def publishers_visible(*, tenant: Tenant | None) -> QuerySet[Publisher]:
    cond = Q(introduced_by__isnull=True)
    if tenant is not None:
        cond |= Q(introduced_by=tenant)
    return Publisher.objects.filter(cond)


def products_list_queryset(*, tenant: Tenant | None) -> QuerySet[Product]:
    """Visible products annotated with their effective default license model and SKU count (list page)."""
    master_model = ProductTerms.objects.filter(product=OuterRef("pk")).values("default_license_model")[:1]
    qs = products_visible(tenant=tenant).select_related("publisher")
    master_skus = Sku.objects.filter(product=OuterRef("pk")).order_by().values("product").annotate(n=Count("pk")).values("n")
    if tenant is None:
        return qs.annotate(default_model=Coalesce(Subquery(master_model), Value("")),
                           sku_count=Coalesce(Subquery(master_skus), 0))
    tenant_model = TenantProductTerms.objects.filter(tenant=tenant, product=OuterRef("pk")).values(
        "default_license_model")[:1]
    tenant_skus = TenantSku.objects.filter(tenant=tenant, product=OuterRef("pk")).order_by().values(
        "product").annotate(n=Count("pk")).values("n")
    return qs.annotate(
        default_model=Coalesce(Subquery(tenant_model), Subquery(master_model), Value("")),
        sku_count=Coalesce(Subquery(master_skus), 0) + Coalesce(Subquery(tenant_skus), 0),
    )


def product_key_lookup(*, tenant: Tenant | None, keys: Iterable[tuple[str, str, str, str]]
                       ) -> dict[tuple[str, str, str, str], Product]:
    """Visible products by their four columns, compared case-insensitively (one query per 900 titles).

    Keys and result keys are lower-cased ``(publisher, title, version, edition)`` tuples.
    """
    wanted = {tuple((p or "").strip().lower() for p in key) for key in keys}
    titles = sorted({k[1] for k in wanted})
    out: dict[tuple[str, str, str, str], Product] = {}
    for chunk in _chunks(titles):
        qs = (products_visible(tenant=tenant).select_related("publisher")
              .annotate(_t=Upper("title")).filter(_t__in=[t.upper() for t in chunk]))
        for p in qs:
            key = (p.publisher.name.lower(), p.title.lower(), p.version.lower(), p.edition.lower())
            # where the tenant has its own row and the master one too, its own wins
            if key in wanted and (key not in out or p.introduced_by_id is not None):
                out[key] = p
    return out


def product_release_dates(*, tenant: Tenant | None, product_ids: Iterable[int]) -> dict[int, dt.date | None]:
    """The release date each product has for this tenant: its own amendment, else the product's."""
    ids = list(dict.fromkeys(int(i) for i in product_ids))
    out: dict[int, dt.date | None] = {}
    for chunk in _chunks(ids):
        out.update(Product.objects.filter(pk__in=chunk).values_list("pk", "release_date"))
        if tenant is not None:
            out.update(TenantProductTerms.objects.filter(tenant=tenant, product_id__in=chunk,
                                                         release_date__isnull=False)
                       .values_list("product_id", "release_date"))
    return out


def product_versions_covered(*, tenant: Tenant | None, product: Product) -> dict[str, list[Product]]:
    """Products this product's licenses may also cover, by its effective rights.

    ``downgrade``: same publisher, title and edition with a lower version (version downgrade);
    ``upgrade``: a higher version (version upgrade); ``editions``: same version with a lower-ranked
    edition (edition downgrade).
    """
    terms = product_terms_effective(tenant=tenant, product_ids=[product.pk])[product.pk]
    siblings = list(products_visible(tenant=tenant).filter(publisher_id=product.publisher_id, title=product.title)
                    .exclude(pk=product.pk).select_related("publisher"))
    mine = version_key(product.version)
    out: dict[str, list[Product]] = {"downgrade": [], "upgrade": [], "editions": []}
    for p in siblings:
        if p.edition == product.edition:
            if terms.version_downgrade and version_key(p.version) < mine:
                out["downgrade"].append(p)
            elif terms.version_upgrade and version_key(p.version) > mine:
                out["upgrade"].append(p)
    if terms.edition_downgrade:
        lookup = edition_rank_lookup(tenant=tenant)
        own = lookup(product.publisher.name, product.title, product.edition)
        if own is not None:
            for p in siblings:
                rank = lookup(p.publisher.name, p.title, p.edition)
                if p.version == product.version and rank is not None and rank < own:
                    out["editions"].append(p)
    for key in out:
        out[key].sort(key=lambda p: (version_key(p.version), p.edition))
    return out


def fingerprints_unknown(*, tenant: Tenant) -> QuerySet:
    """The tenant's unrecognised fingerprints, most installed first (the classification queue)."""
    from inventory.models import Fingerprint

    return (Fingerprint.objects.filter(tenant=tenant, classification=Classification.UNKNOWN)
            .annotate(installation_count=Count("installations"))
            .order_by("-installation_count", "publisher", "name", "version"))


def products_search(*, tenant: Tenant | None, q: str = "", publisher: str = "", title: str = "",
                    limit: int = 20) -> list[Product]:
    """Visible products whose four columns contain every word of ``q`` (autocomplete), optionally
    narrowed to one publisher and title (exact, case-insensitive)."""
    qs = products_visible(tenant=tenant).select_related("publisher")
    for word in (q or "").split():
        qs = qs.filter(Q(publisher__name__icontains=word) | Q(title__icontains=word) | Q(version__icontains=word)
                       | Q(edition__icontains=word))
    if publisher:
        qs = qs.filter(publisher__name__iexact=publisher)
    if title:
        qs = qs.filter(title__iexact=title)
    return list(qs.order_by("publisher__name", "title", "version_sort", "edition")[:limit])


def publisher_names_search(*, tenant: Tenant | None, q: str = "", limit: int = 20) -> list[str]:
    """Names of visible publishers containing ``q`` (the first step of the product picker)."""
    qs = publishers_visible(tenant=tenant)
    if q:
        qs = qs.filter(name__icontains=q)
    return list(qs.order_by("name").values_list("name", flat=True)[:limit])


def product_titles_search(*, tenant: Tenant | None, publisher: str, q: str = "", limit: int = 20) -> list[str]:
    """Distinct titles of one publisher's visible products containing ``q`` (the second step)."""
    qs = products_visible(tenant=tenant).filter(publisher__name__iexact=publisher)
    if q:
        qs = qs.filter(title__icontains=q)
    return list(qs.order_by("title").values_list("title", flat=True).distinct()[:limit])


def product_detail(*, tenant: Tenant, product: Product) -> dict:
    """Everything the product page shows, in a fixed number of queries."""
    from inventory.models import Fingerprint

    terms = product_terms_effective(tenant=tenant, product_ids=[product.pk])[product.pk]
    bundles = bundle_components_effective(tenant=tenant)
    component_ids = bundles.get(product.pk, set())
    in_bundles = {b for b, comps in bundles.items() if product.pk in comps}
    related = {p.pk: p for p in products_visible(tenant=tenant).filter(pk__in=component_ids | in_bundles)
               .select_related("publisher")}
    lookup = edition_rank_lookup(tenant=tenant)
    fingerprints = list(Fingerprint.objects.filter(tenant=tenant, product=product)
                        .annotate(installation_count=Count("installations"))
                        .order_by("-installation_count", "name")[:200])
    rules = [r for r in fingerprint_rules_effective(tenant=tenant) if r.product_id == product.pk]
    models = license_models_effective(tenant=tenant)
    return {
        "terms": terms,
        "default_model": models.get(terms.default_license_model),
        "skus": skus_for_product(tenant=tenant, product_id=product.pk),
        "covered": product_versions_covered(tenant=tenant, product=product),
        "edition_rank": lookup(product.publisher.name, product.title, product.edition),
        "components": sorted((related[c] for c in component_ids if c in related), key=str),
        "bundles": sorted((related[b] for b in in_bundles if b in related), key=str),
        "fingerprints": fingerprints,
        "rules": rules,
    }


def products_with_default_model(*, tenant: Tenant | None, name: str) -> list[Product]:
    """Visible products whose effective default license model is ``name`` (the tenant's terms win)."""
    master_ids = set(ProductTerms.objects.filter(default_license_model=name).values_list("product_id", flat=True))
    if tenant is not None:
        mine = dict(TenantProductTerms.objects.filter(tenant=tenant).values_list("product_id", "default_license_model"))
        master_ids = {pid for pid in master_ids if pid not in mine} | {pid for pid, m in mine.items() if m == name}
    return list(products_visible(tenant=tenant).filter(pk__in=master_ids).select_related("publisher")
                .order_by("publisher__name", "title", "version_sort", "edition"))
