"""H1 and M2 of the security review (issue 14): a tenant never writes the shared master catalog.

H1 — a tenant's import of any master kind writes only that tenant's amendment layer; the master
tables stay exactly as they were (compared as row dumps), and a tenant's release date of a shared
product changes only that tenant's balance.
M2 — naming another tenant's private product or publisher neither publishes it nor reveals it:
the namer gets its own private identity, the counts are those of a name nobody had, and only a
master (staff) import promotes a private identity into the shared catalog.
Each test fails on b7f100c.
"""
from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.forms.models import model_to_dict
from django_scopes import scope, scopes_disabled

from catalog.models import Product, Publisher
from catalog.selectors import product_key_lookup, products_visible
from entitlements.models import Contract
from requirements_engine.balance import balance_compute
from requirements_engine.models import BalanceRow
from sam.importing import import_file, load_kinds
from sam.models import TenantModel
from tests.factories import TenantFactory
from tests.requirements_engine.balance_builders import entitlement, license_model, requirement

pytestmark = pytest.mark.django_db

OFFICE = "Microsoft,Office LTSC,2024,Professional Plus"

# The master catalog a staff import writes (tenant=None), one file per kind, in dependency order.
MASTER = {
    "license_models": "name,assignment,metric,quantity\nPer Device,device,device,1\nPer Core,ose,core,cores\n",
    "processors": "model,core_factor,pvu_per_core,max_sockets\nXeon*,0.5,70,\n",
    "editions": "publisher,product,edition,rank\nMicrosoft,Office LTSC,Standard,1\nMicrosoft,Office LTSC,Professional Plus,2\n",
    "catalog": ("publisher,product,version,edition,sku,license_model,units,release_date,min_entitlement_days\n"
                f"{OFFICE},,Per Device,,2024-09-16,0\n"
                f"{OFFICE},OFF-24,Per Device,1,,0\n"
                "Microsoft,Office LTSC,2021,Professional Plus,,Per Device,,2021-09-16,0\n"),
    "fingerprints": "publisher,name,version,product_publisher,product,product_version,product_edition\n"
                    "Microsoft*,Microsoft Office LTSC Professional Plus 2024*,*," + OFFICE + "\n",
    "group_assignments": "group,publisher,product,version,edition\nOffice-Users," + OFFICE + "\n",
    "executables": "executable,publisher,product,version,edition\nwinword.exe," + OFFICE + "\n",
    "services": "service,publisher,product,version,edition\nOffice Service," + OFFICE + "\n",
    "dependency_rules": ("source_publisher,source_product,source_version,source_edition,publisher,product,version,edition\n"
                         "Microsoft,Office LTSC,2021,Professional Plus," + OFFICE + "\n"),
}

# What a tenant imports: the same keys with other values, plus new identities of its own.
TENANT = {
    "license_models": "name,assignment,metric,quantity\nPer Device,named_user,user,2\nMine,device,device,1\n",
    "processors": "model,core_factor,pvu_per_core,max_sockets\nXeon*,1,100,\nEpyc*,0.5,,\n",
    "editions": "publisher,product,edition,rank\nMicrosoft,Office LTSC,Standard,5\nMicrosoft,Office LTSC,Home,0\n",
    "catalog": ("publisher,product,version,edition,sku,license_model,units,release_date,min_entitlement_days\n"
                f"{OFFICE},,Per Device,,2035-01-01,30\n"
                f"{OFFICE},OFF-24,Per Device,2,2035-01-01,30\n"
                "Microsoft,Office LTSC,2021,Professional Plus,,Per Device,,2030-01-01,5\n"
                "Contoso,Private Tool,1,,PT-1,Per Device,1,2020-01-01,0\n"),
    "fingerprints": "publisher,name,version,product_publisher,product,product_version,product_edition\n"
                    "Microsoft*,Microsoft Office LTSC Professional Plus 2024*,*,Microsoft,Office LTSC,2021,Professional Plus\n",
    "group_assignments": "group,publisher,product,version,edition\nOffice-Users,Microsoft,Office LTSC,2021,Professional Plus\n",
    "executables": "executable,publisher,product,version,edition\nwinword.exe,Microsoft,Office LTSC,2021,Professional Plus\n",
    "services": "service,publisher,product,version,edition\nOffice Service,Microsoft,Office LTSC,2021,Professional Plus\n",
    "dependency_rules": ("source_publisher,source_product,source_version,source_edition,publisher,product,version,edition\n"
                         "Microsoft,Office LTSC,2024,Professional Plus,Microsoft,Office LTSC,2021,Professional Plus\n"),
}


def master_models() -> list:
    return [m for m in apps.get_app_config("catalog").get_models() if not issubclass(m, TenantModel)]


def dump() -> dict[str, dict[int, dict]]:
    with scopes_disabled():
        return {m._meta.label: {o.pk: model_to_dict(o) for o in m.objects.all()} for m in master_models()}


def _generic_row(kind) -> str:
    """A row for a master kind this file has no sample of: the Office identity and plain text."""
    office = dict(zip(("publisher", "product", "version", "edition"), OFFICE.split(","), strict=True))
    cols = list(kind.columns)
    values = [office.get(c.removeprefix("source_").removeprefix("product_") if c != "product" else c, "x")
              for c in cols]
    return ",".join(cols) + "\n" + ",".join(values) + "\n"


def _import(kind: str, text: str, tenant=None):
    return import_file(kind=kind, source=text.encode(), tenant=tenant, filename=f"{kind}.csv", recompute=False)


@pytest.fixture
def master_catalog(db):
    with scopes_disabled():
        for kind, text in MASTER.items():
            result = _import(kind, text)
            assert result.rejected == 0, result.errors
    return dump()


def _master_kinds() -> list[str]:
    return sorted(k for k, spec in load_kinds().items() if spec.master)


@pytest.mark.parametrize("kind", _master_kinds())
def test_a_tenant_import_of_every_master_kind_leaves_every_master_table_unchanged(master_catalog, tenant_a, kind):
    spec = load_kinds()[kind]
    text = TENANT.get(kind) or _generic_row(spec)
    with scope(tenant=tenant_a):
        result = _import(kind, text, tenant=tenant_a)
    assert result.read >= 1
    after = dump()
    for label, rows in master_catalog.items():
        for pk, values in rows.items():
            assert after[label].get(pk) == values, f"{kind}: master row {label} #{pk} changed"
        for pk, values in after[label].items():
            if pk in rows:
                continue
            # The only new rows a tenant may add to a global table are its own private identities.
            assert label in ("catalog.Publisher", "catalog.Product"), f"{kind}: new master row {label} #{pk}"
            assert values["introduced_by"] == tenant_a.pk, f"{kind}: shared row {label} #{pk} created"


def _office_position(tenant) -> tuple[int, int]:
    office = Product.objects.get(title="Office LTSC", version="2024", introduced_by__isnull=True)
    row = BalanceRow.objects.get(tenant=tenant, as_of=AS_OF, product=office, repository_id_ref__isnull=True)
    return int(row.covered), int(row.shortfall)


AS_OF = dt.date(2026, 6, 15)


def test_a_tenants_release_date_moves_only_its_own_position_never_another_tenants(master_catalog, tenant_a):
    """The reproduced Office scenario: tenant B dates Office LTSC 2024 in 2035; tenant C is not moved."""
    tenant_c = tenant_a
    tenant_b = TenantFactory(slug="tenant-bb")
    office21 = Product.objects.get(title="Office LTSC", version="2021")
    office24 = Product.objects.get(title="Office LTSC", version="2024")
    for tenant in (tenant_c, tenant_b):
        with scope(tenant=tenant):
            license_model("Per Device")
            lic = entitlement(tenant, office21, 1)
            # Maintenance 2023-01-01..2026-12-31 covers versions released in its term (2024-09-16).
            maint = entitlement(tenant, office21, 1, type="maintenance", start_date=dt.date(2023, 1, 1),
                                end_date=dt.date(2026, 12, 31))
            maint.covers.add(lic)
            requirement(tenant, office24)
            balance_compute(tenant=tenant, as_of=AS_OF)
            # required 1, covered 1 by the maintenance: shortfall 1 - 1 = 0
            assert _office_position(tenant) == (1, 0)

    with scope(tenant=tenant_b):
        result = _import("catalog", "publisher,product,version,edition,release_date\n" + OFFICE + ",2035-01-01\n",
                         tenant=tenant_b)
        assert result.updated == 1 and result.rejected == 0
        balance_compute(tenant=tenant_b, as_of=AS_OF)
        # For B the 2024 version is now released after the maintenance ended: covered 0, shortfall 1.
        assert _office_position(tenant_b) == (0, 1)
    office24.refresh_from_db()
    assert office24.release_date == dt.date(2024, 9, 16)
    with scope(tenant=tenant_c):
        balance_compute(tenant=tenant_c, as_of=AS_OF)
        assert _office_position(tenant_c) == (1, 0)


# --- M2 -------------------------------------------------------------------------------------------


def _private(tenant, line: str):
    with scope(tenant=tenant):
        return _import("catalog", "publisher,product,version,edition\n" + line + "\n", tenant=tenant)


def test_naming_another_tenants_private_product_neither_publishes_nor_reveals_it(tenant_a, tenant_b):
    first = _private(tenant_a, "Acme,Widget,1,")
    assert first.created == 1
    mine = Product.objects.get(title="Widget")
    assert mine.introduced_by_id == tenant_a.pk and mine.publisher.introduced_by_id == tenant_a.pk

    # B names the same identity and, for comparison, one nobody has: both count the same.
    named = _private(tenant_b, "Acme,Widget,1,")
    fresh = _private(tenant_b, "Acme,Gadget,1,")
    assert (named.created, named.updated, named.unchanged) == (fresh.created, fresh.updated, fresh.unchanged) == (1, 0, 0)

    mine.refresh_from_db()
    mine.publisher.refresh_from_db()
    assert mine.introduced_by_id == tenant_a.pk, "A's private product was published"
    assert mine.publisher.introduced_by_id == tenant_a.pk, "A's private publisher was published"
    theirs = Product.objects.get(title="Widget", introduced_by=tenant_b)
    assert theirs.pk != mine.pk and theirs.publisher.introduced_by_id == tenant_b.pk
    assert set(products_visible(tenant=tenant_a).filter(title="Widget")) == {mine}
    assert set(products_visible(tenant=tenant_b).filter(title="Widget")) == {theirs}
    assert not products_visible(tenant=TenantFactory(slug="tenant-c")).filter(title="Widget").exists()


def test_only_a_master_import_promotes_a_private_identity(tenant_a, tenant_b):
    _private(tenant_a, "Acme,Widget,1,")
    _private(tenant_b, "Acme,Widget,1,")
    with scopes_disabled():
        _import("catalog", "publisher,product,version,edition\nAcme,Widget,1,\n")
    shared = Product.objects.filter(title="Widget", introduced_by__isnull=True)
    assert shared.count() == 1 and shared.get().publisher.introduced_by_id is None
    # Whoever keeps a private row of the same identity goes on resolving to it.
    for tenant in (tenant_a, tenant_b):
        found = product_key_lookup(tenant=tenant, keys=[("acme", "widget", "1", "")])[("acme", "widget", "1", "")]
        assert found.introduced_by_id in (None, tenant.pk)


def test_an_agreement_import_never_resolves_another_tenants_private_publisher(tenant_a, tenant_b):
    """Low finding: publisher names in agreement (contracts) imports."""
    _private(tenant_a, "Acme,Widget,1,")
    private = Publisher.objects.get(name="Acme", introduced_by=tenant_a)
    with scope(tenant=tenant_b):
        result = import_file(kind="contracts", source=b"number,publisher,name\nEA-1,Acme,Enterprise\n",
                             tenant=tenant_b, filename="c.csv", recompute=False)
        assert result.rejected == 0, result.errors
        contract = Contract.objects.get(number="EA-1")
        assert contract.publisher.pk != private.pk
        assert contract.publisher.introduced_by_id == tenant_b.pk
