"""Which licenses may cover which license position, and by which rule.

A *position* is a software product × license model (one line of the balance). A license covers a
position when its license model is the position's and the position's product is the license's own
product or one its use rights reach:

* **exact** – the same product;
* **version downgrade** – same publisher, title and edition, an earlier version (a 2024 license
  may run 2022);
* **version upgrade** – a later version, when the license grants upgrade rights;
* **maintenance** – a later version released while an active maintenance (software assurance)
  covering the license ran (its release date lies within the maintenance term);
* **edition downgrade** – same publisher, title and version, a lower-ranked edition when the
  license grants edition downgrade (ranks come from the catalog's edition matrix);
* combinations – version *and* edition rights together (an Enterprise 2024 license with both
  rights covers Standard 2022);
* **bundle** – a suite license covers each of its components.

Only *counted* entitlements take part: published, free of validation errors, in the Default
repository (or the what-if repository), and active on the as-of date.

Everything here is read once per run (a handful of queries) and evaluated in memory.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from sam.models import Tenant

# Rule names shown to the user as the "why" of an allocation.
EXACT = "exact"
VERSION_DOWNGRADE = "version downgrade"
VERSION_UPGRADE = "version upgrade"
MAINTENANCE = "maintenance"
EDITION_DOWNGRADE = "edition downgrade"
BUNDLE = "bundle"
RULES = (EXACT, VERSION_DOWNGRADE, VERSION_UPGRADE, MAINTENANCE, EDITION_DOWNGRADE, BUNDLE)

# The "distance" of a rule: the allocation prefers exact matches, then the nearest right. An
# edition downgrade gives away more value than a version downgrade, a bundle breaks a suite apart.
RULE_COST = {EXACT: 0, VERSION_DOWNGRADE: 10, VERSION_UPGRADE: 20, MAINTENANCE: 20, EDITION_DOWNGRADE: 30,
             BUNDLE: 40}

EXPIRY_WINDOW_DAYS = 90


def _get(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


# --- counted entitlements -----------------------------------------------------------------------


def entitlements_counted(*, tenant: Tenant, as_of: dt.date, repository=None) -> QuerySet:
    """The entitlements that count on ``as_of`` (licenses and maintenances).

    Delegates to ``entitlements.selectors.entitlements_counted`` when the entitlements part provides
    it. The stand-in applies the same rule: published, valid (no validation errors), in the Default
    repository (or, for a what-if, in the given repository instead), and active on the day (start ≤ as_of ≤ end, open
    ends allowed) – an expired subscription or a draft never covers anything.
    """
    try:
        from entitlements.selectors import entitlements_counted as selector
    except ImportError:
        selector = None
    if selector is not None:
        return selector(tenant=tenant, as_of=as_of, repository=repository)
    from entitlements.models import Entitlement

    in_repo = Q(repository__is_default=True) if repository is None else Q(repository=repository)
    return (
        Entitlement.objects.filter(tenant=tenant, status="published", errors=[])
        .filter(in_repo)
        .filter(Q(start_date__isnull=True) | Q(start_date__lte=as_of))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=as_of))
    )


# --- catalog facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductFacts:
    id: int
    publisher_id: int
    publisher: str
    title: str
    version: str
    edition: str
    version_sort: str
    release_date: dt.date | None


@dataclass
class CatalogFacts:
    """The catalog rules the balance needs, read once per run (tenant amendments win)."""

    edition_ranks: dict[tuple[str, str, str], int] = field(default_factory=dict)
    bundles: dict[int, set[int]] = field(default_factory=dict)
    license_models: dict[str, dict] = field(default_factory=dict)
    default_models: dict[int, str] = field(default_factory=dict)
    unit_prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)

    def metric(self, model: str) -> str:
        return _get(self.license_models.get(model) or {}, "metric", "") or ""

    def rounding(self, model: str) -> str:
        return _get(self.license_models.get(model) or {}, "rounding", "consumer") or "consumer"

    def price(self, product_id: int, model: str) -> Decimal | None:
        return self.unit_prices.get((product_id, model)) or self.unit_prices.get((product_id, ""))


def _selector(name: str):
    try:
        from catalog import selectors
    except ImportError:
        return None
    return getattr(selectors, name, None)


def catalog_facts(*, tenant: Tenant, product_ids: Iterable[int] | None = None) -> CatalogFacts:
    """Edition ranks, bundles, license models, default license models and unit list prices."""
    facts = CatalogFacts()
    ids = None if product_ids is None else sorted(set(product_ids))

    fn = _selector("edition_ranks_effective")
    if fn is not None:
        facts.edition_ranks = {tuple(k): int(v) for k, v in fn(tenant=tenant).items()}
    else:
        from catalog.models import EditionRank, TenantEditionRank

        for row in EditionRank.objects.values("publisher", "title", "edition", "rank"):
            facts.edition_ranks[(row["publisher"], row["title"], row["edition"])] = row["rank"]
        for row in TenantEditionRank.objects.filter(tenant=tenant).values("publisher", "title", "edition", "rank"):
            facts.edition_ranks[(row["publisher"], row["title"], row["edition"])] = row["rank"]

    fn = _selector("bundle_components_effective")
    if fn is not None:
        facts.bundles = {int(k): {int(c) for c in v} for k, v in fn(tenant=tenant).items()}
    else:
        from catalog.models import BundleComponent, TenantBundleComponent

        for row in [*BundleComponent.objects.values("bundle_id", "component_id"),
                    *TenantBundleComponent.objects.filter(tenant=tenant).values("bundle_id", "component_id")]:
            facts.bundles.setdefault(row["bundle_id"], set()).add(row["component_id"])

    fn = _selector("license_models_effective")
    if fn is not None:
        raw = fn(tenant=tenant)
        items = raw.values() if isinstance(raw, dict) else raw
        facts.license_models = {_get(m, "name"): {"metric": _get(m, "metric", ""), "rounding": _get(m, "rounding",
                                "consumer")} for m in items}
    else:
        from catalog.models import LicenseModel, TenantLicenseModel

        for qs in (LicenseModel.objects.all(), TenantLicenseModel.objects.filter(tenant=tenant)):
            for m in qs.values("name", "metric", "rounding"):
                facts.license_models[m["name"]] = {"metric": m["metric"], "rounding": m["rounding"]}

    fn = _selector("product_terms_effective")
    if fn is not None:
        terms = fn(tenant=tenant, product_ids=ids)
        facts.default_models = {int(pid): _get(t, "default_license_model") or "" for pid, t in terms.items()}
    else:
        from catalog.models import ProductTerms, TenantProductTerms

        master, mine = ProductTerms.objects.all(), TenantProductTerms.objects.filter(tenant=tenant)
        if ids is not None:
            master, mine = master.filter(product_id__in=ids), mine.filter(product_id__in=ids)
        for qs in (master, mine):
            for t in qs.values("product_id", "default_license_model"):
                facts.default_models[t["product_id"]] = t["default_license_model"] or ""

    # List price per unit: a 2-core pack at 9000 costs 4500 per core.
    fn = _selector("skus_effective")
    if fn is not None:
        skus = fn(tenant=tenant)
        skus = skus.values() if isinstance(skus, dict) else skus
    else:
        from catalog.models import Sku, TenantSku

        fields = ("part_number", "product_id", "license_model", "units", "list_price", "license_type")
        merged = {s["part_number"]: s for s in Sku.objects.filter(list_price__isnull=False).values(*fields)}
        merged.update({s["part_number"]: s for s in
                       TenantSku.objects.filter(tenant=tenant, list_price__isnull=False).values(*fields)})
        skus = merged.values()
    for sku in sorted(skus, key=lambda s: str(_get(s, "part_number", ""))):
        price = _get(sku, "list_price")
        product_id = _get(sku, "product_id") or getattr(_get(sku, "product"), "pk", None)
        if price is None or product_id is None or _get(sku, "license_type") in ("maintenance", "upgrade"):
            continue
        units = Decimal(str(_get(sku, "units") or 1)) or Decimal(1)
        per_unit = Decimal(str(price)) / units
        for key in ((product_id, _get(sku, "license_model") or ""), (product_id, "")):
            if key not in facts.unit_prices or per_unit < facts.unit_prices[key]:
                facts.unit_prices[key] = per_unit
    return facts


def products_facts(*, product_ids: Iterable[int], tenant: Tenant | None = None) -> dict[int, ProductFacts]:
    """Identity of the products (one query; one more for the tenant's own release dates)."""
    from catalog.models import Product, TenantProductTerms

    ids = set(product_ids)
    own_dates = {}
    if tenant is not None and ids:
        # A tenant's release date of a shared product is its amendment, never the master's row.
        own_dates = dict(TenantProductTerms.objects.filter(tenant=tenant, product_id__in=ids, release_date__isnull=False)
                         .values_list("product_id", "release_date"))
    out = {}
    for p in Product.objects.filter(pk__in=ids).values(
            "id", "publisher_id", "publisher__name", "title", "version", "edition", "version_sort", "release_date"):
        out[p["id"]] = ProductFacts(p["id"], p["publisher_id"], p["publisher__name"], p["title"], p["version"],
                                    p["edition"], p["version_sort"], own_dates.get(p["id"], p["release_date"]))
    return out


# --- licenses -----------------------------------------------------------------------------------


@dataclass
class LicenseFacts:
    """A counted license entitlement reduced to what allocation needs."""

    id: int
    product_id: int
    license_model: str
    total: Decimal | None  # None = unlimited
    version_downgrade: bool
    version_upgrade: bool
    edition_downgrade: bool
    unit_price: Decimal | None
    start_date: dt.date | None
    end_date: dt.date | None
    # Terms of the active maintenances that cover this license: (start, end, maintenance id).
    maintenance: tuple[tuple[dt.date | None, dt.date | None, int], ...] = ()

    @property
    def unlimited(self) -> bool:
        return self.total is None

    def rights_key(self) -> tuple:
        """Licenses with the same key reach the same positions at the same cost (aggregated in the flow)."""
        windows = tuple((s, e) for s, e, _m in self.maintenance)
        return (self.product_id, self.license_model, self.version_downgrade, self.version_upgrade,
                self.edition_downgrade, windows, self.unit_price, self.unlimited)


def licenses_counted(*, tenant: Tenant, as_of: dt.date, repository=None, catalog: CatalogFacts | None = None,
                     product_models: dict[int, str] | None = None) -> tuple[list[LicenseFacts], list[dict]]:
    """Counted licenses (with their covering maintenances) and counted maintenances, in id order.

    Three queries: licenses, maintenances, and the maintenance→license links. The license model
    of a license is its own, else the product's default license model.
    """
    from entitlements.models import Entitlement

    counted = entitlements_counted(tenant=tenant, as_of=as_of, repository=repository)
    fields = ("id", "type", "product_id", "license_model", "quantity", "units", "unlimited", "version_downgrade",
              "version_upgrade", "edition_downgrade", "unit_cost", "start_date", "end_date")
    rows = list(counted.filter(product__isnull=False).order_by("id").values(*fields))
    lic_rows = [r for r in rows if r["type"] == "license"]
    maint_rows = [r for r in rows if r["type"] == "maintenance"]
    windows: dict[int, list[tuple]] = defaultdict(list)
    if maint_rows and lic_rows:
        through = Entitlement.covers.through
        links = through.objects.filter(from_entitlement_id__in=[m["id"] for m in maint_rows]).values_list(
            "from_entitlement_id", "to_entitlement_id")
        maint_by_id = {m["id"]: m for m in maint_rows}
        for maint_id, lic_id in sorted(links):
            m = maint_by_id[maint_id]
            windows[lic_id].append((m["start_date"], m["end_date"], maint_id))
    defaults = dict(catalog.default_models) if catalog else {}
    if product_models:
        defaults.update({k: v for k, v in product_models.items() if k not in defaults or not defaults[k]})
    out = []
    for r in lic_rows:
        quantity = r["quantity"] if r["quantity"] is not None else Decimal(1)
        units = r["units"] if r["units"] is not None else Decimal(1)
        total = None if r["unlimited"] else Decimal(quantity) * Decimal(units)
        price = None
        if r["unit_cost"] is not None:
            # unit_cost is the price of one purchased item (a 2-core pack): per license unit divide by units.
            price = Decimal(r["unit_cost"]) / (Decimal(units) or Decimal(1))
        out.append(LicenseFacts(
            id=r["id"], product_id=r["product_id"],
            license_model=r["license_model"] or defaults.get(r["product_id"], ""),
            total=total, version_downgrade=r["version_downgrade"], version_upgrade=r["version_upgrade"],
            edition_downgrade=r["edition_downgrade"], unit_price=price, start_date=r["start_date"],
            end_date=r["end_date"], maintenance=tuple(windows.get(r["id"], ())),
        ))
    return out, maint_rows


# --- the rule -----------------------------------------------------------------------------------


def coverage_rule(*, license: LicenseFacts, licensed: ProductFacts, target: ProductFacts,
                  catalog: CatalogFacts) -> tuple[str, int] | None:
    """The rule by which ``license`` (for product ``licensed``) covers ``target``, with its cost.

    Returns ``None`` when it does not. The license model is checked by the caller.
    """
    if target.id == licensed.id:
        return EXACT, RULE_COST[EXACT]
    if target.id in catalog.bundles.get(licensed.id, ()):
        # A suite license grants the use of each component of the suite.
        return BUNDLE, RULE_COST[BUNDLE]
    if target.publisher_id != licensed.publisher_id or target.title != licensed.title:
        return None

    rules: list[str] = []
    # Version: earlier versions by downgrade right; later ones by upgrade right, or because they were
    # released during an active maintenance term covering the license.
    if target.version_sort < licensed.version_sort:
        if not license.version_downgrade:
            return None
        rules.append(VERSION_DOWNGRADE)
    elif target.version_sort > licensed.version_sort:
        if license.version_upgrade:
            rules.append(VERSION_UPGRADE)
        elif target.release_date and any((s is None or s <= target.release_date)
                                         and (e is None or target.release_date <= e)
                                         for s, e, _m in license.maintenance):
            rules.append(MAINTENANCE)
        else:
            return None

    # Edition: a higher-ranked edition covers lower ranks when edition downgrade is granted.
    if target.edition != licensed.edition:
        if not license.edition_downgrade:
            return None
        own = catalog.edition_ranks.get((licensed.publisher, licensed.title, licensed.edition))
        other = catalog.edition_ranks.get((target.publisher, target.title, target.edition))
        if own is None or other is None or own <= other:
            return None
        rules.append(EDITION_DOWNGRADE)

    if not rules:  # same title, version and edition but another product row: treat as exact
        return EXACT, RULE_COST[EXACT]
    # Distance grows with the rules combined (version and edition downgrade costs the most).
    return " + ".join(rules), sum(RULE_COST[r] for r in rules)


@dataclass(frozen=True)
class Edge:
    """A license class may cover a position by ``rule`` at ``cost`` (lower is preferred)."""

    supply: int  # index of the supply class
    position: tuple[int, str]
    rule: str
    cost: int


def coverage_edges(*, supplies: list[LicenseFacts], positions: Iterable[tuple[int, str]],
                   products: dict[int, ProductFacts], catalog: CatalogFacts) -> list[Edge]:
    """Every (supply, position) pair the rules allow, for the positions given.

    ``supplies`` are representative licenses (one per aggregated class). Candidate positions are
    looked up by publisher × title × license model (plus bundle components), so the work grows
    with the positions of the same title, not the whole estate.
    """
    by_title: dict[tuple[int, str, str], list[tuple[int, str]]] = defaultdict(list)
    by_product: dict[tuple[int, str], tuple[int, str]] = {}
    for pos in sorted(set(positions)):
        prod = products.get(pos[0])
        if prod is None:
            continue
        by_title[(prod.publisher_id, prod.title, pos[1])].append(pos)
        by_product[pos] = pos
    edges: list[Edge] = []
    for index, lic in enumerate(supplies):
        licensed = products.get(lic.product_id)
        if licensed is None:
            continue
        candidates = list(by_title.get((licensed.publisher_id, licensed.title, lic.license_model), ()))
        for component in sorted(catalog.bundles.get(lic.product_id, ())):
            pos = (component, lic.license_model)
            if pos in by_product and pos not in candidates:
                candidates.append(pos)
        for pos in candidates:
            target = products[pos[0]]
            hit = coverage_rule(license=lic, licensed=licensed, target=target, catalog=catalog)
            if hit is not None:
                edges.append(Edge(index, pos, hit[0], hit[1]))
    return edges
