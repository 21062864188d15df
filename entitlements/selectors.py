"""Reading the license inventory: what counts, what renews, what a license covers."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet

from catalog.models import Product, version_key
from entitlements.models import Entitlement, EntitlementType, Repository, State, Status, Term
from sam.models import Tenant


def active_on_q(as_of: dt.date, prefix: str = "") -> Q:
    """Started on or before ``as_of`` and not ended before it (no dates = always)."""
    return ((Q(**{f"{prefix}start_date__isnull": True}) | Q(**{f"{prefix}start_date__lte": as_of}))
            & (Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gte": as_of})))


def entitlements_counted(*, tenant: Tenant, as_of: dt.date, repository: Repository | None = None
                         ) -> QuerySet[Entitlement]:
    """The entitlements the balance counts on ``as_of``.

    Published and valid (no errors), in the Default repository (or the one given), and active on
    ``as_of``: started, and for subscriptions and maintenances not yet ended.
    """
    qs = Entitlement.objects.filter(tenant=tenant, status=Status.PUBLISHED, state=State.PUBLISHED)
    if repository is None:
        qs = qs.filter(repository__is_default=True)
    else:
        qs = qs.filter(repository=repository)
    return qs.filter(active_on_q(as_of)).select_related("product__publisher")


def entitlement_list_queryset(*, tenant: Tenant, repository: Repository | None = None) -> QuerySet[Entitlement]:
    """The list page's rows: one repository, with everything the columns show joined in (no query per row)."""
    qs = Entitlement.objects.filter(tenant=tenant)
    if repository is not None:
        qs = qs.filter(repository=repository)
    return (qs.select_related("product__publisher", "contract", "management_group", "purchase_line", "repository")
            .annotate(total_units=ExpressionWrapper(F("quantity") * F("units"),
                                                    output_field=DecimalField(max_digits=24, decimal_places=4))))


def renewals_due(*, tenant: Tenant, as_of: dt.date, days: int = 90) -> QuerySet[Entitlement]:
    """Published subscriptions and maintenances whose term ends within ``days`` of ``as_of``."""
    return (Entitlement.objects.filter(tenant=tenant, status=Status.PUBLISHED, end_date__gte=as_of,
                                       end_date__lte=as_of + dt.timedelta(days=days))
            .filter(Q(term=Term.SUBSCRIPTION) | Q(type=EntitlementType.MAINTENANCE))
            .select_related("product__publisher", "contract", "repository").order_by("end_date", "pk"))


@dataclass(frozen=True)
class CoveredRow:
    product: Product
    how: str  # "this product", "version downgrade", "version upgrade", "edition downgrade"


def versions_covered(*, tenant: Tenant, entitlement: Entitlement) -> list[CoveredRow]:
    """The catalog products this entitlement's rights cover: same publisher and title, by its own rights.

    Lower versions with version downgrade, higher versions with version upgrade, lower-ranked editions
    (by the effective edition ranks) of a covered version with edition downgrade.
    """
    product = entitlement.product
    if product is None:
        return []
    from catalog.selectors import edition_rank_lookup, products_visible

    siblings = list(products_visible(tenant=tenant).filter(publisher_id=product.publisher_id, title=product.title)
                    .select_related("publisher"))
    own_version = version_key(product.version)
    rank = edition_rank_lookup(tenant=tenant) if entitlement.edition_downgrade else None
    own_rank = rank(product.publisher.name, product.title, product.edition) if rank else None
    rows: list[CoveredRow] = []
    for p in siblings:
        key = version_key(p.version)
        if p.pk == product.pk:
            rows.append(CoveredRow(p, "this product"))
            continue
        if key == own_version or not product.version:
            version_how = "same version"
        elif key < own_version and entitlement.version_downgrade:
            version_how = "version downgrade"
        elif key > own_version and entitlement.version_upgrade:
            version_how = "version upgrade"
        else:
            continue
        if p.edition == product.edition:
            if version_how != "same version":
                rows.append(CoveredRow(p, version_how))
            continue
        if rank is not None and own_rank is not None:
            other = rank(p.publisher.name, p.title, p.edition)
            if other is not None and other < own_rank:
                how = "edition downgrade" if version_how == "same version" else f"{version_how}, edition downgrade"
                rows.append(CoveredRow(p, how))
    rows.sort(key=lambda r: (version_key(r.product.version), r.product.edition))
    return rows


def components_of(*, tenant: Tenant, entitlement: Entitlement) -> list[Product]:
    """The products bundled in this entitlement's product (empty when it is no bundle)."""
    if entitlement.product_id is None:
        return []
    from catalog.selectors import bundle_components_effective

    ids = bundle_components_effective(tenant=tenant).get(entitlement.product_id, set())
    from catalog.selectors import products_visible

    return list(products_visible(tenant=tenant).filter(pk__in=ids).select_related("publisher")
                .order_by("title", "version"))


def upgrade_chain(*, entitlement: Entitlement, limit: int = 20) -> list[Entitlement]:
    """The licenses this one upgrades, nearest first (follows ``upgrades`` links; stops on cycles)."""
    chain: list[Entitlement] = []
    seen = {entitlement.pk}
    current = entitlement
    while current.upgrades_id and current.upgrades_id not in seen and len(chain) < limit:
        current = Entitlement.objects.select_related("product__publisher").get(pk=current.upgrades_id)
        seen.add(current.pk)
        chain.append(current)
    return chain
