"""The rules of the license inventory, tested against the real database."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from entitlements import services
from entitlements.models import Entitlement, EntitlementType, LicenseKey, Repository, State, Status, Term
from entitlements.selectors import entitlements_counted, renewals_due
from sam.models import AuditEvent
from tests.entitlements.factories import ContractFactory, EntitlementFactory, ProductFactory, SkuFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def valid_data(**extra):
    data = {"product": ProductFactory(), "quantity": 10, "unit_cost": Decimal("5"), "currency": "EUR",
            "contract": None, "start_date": dt.date(2025, 1, 1)}
    data.update(extra)
    return data


# --- arithmetic ---------------------------------------------------------------------------------

def test_one_month_after_the_31st_of_january_is_the_end_of_february():
    assert services.end_date_for(start=dt.date(2026, 1, 31), months=1) == dt.date(2026, 2, 28)
    assert services.end_date_for(start=dt.date(2028, 1, 31), months=1) == dt.date(2028, 2, 29)
    assert services.end_date_for(start=dt.date(2026, 3, 15), months=12) == dt.date(2027, 3, 15)


def test_the_duration_is_computed_back_from_the_end_date():
    assert services.duration_for(start=dt.date(2026, 1, 31), end=dt.date(2026, 2, 28)) == 1
    assert services.duration_for(start=dt.date(2026, 3, 15), end=dt.date(2027, 3, 15)) == 12
    assert services.duration_for(start=dt.date(2026, 3, 15), end=dt.date(2027, 3, 16)) == 13  # a started month counts
    assert services.duration_for(start=dt.date(2026, 3, 15), end=dt.date(2026, 3, 1)) is None


def test_total_is_quantity_times_units_and_none_when_unlimited(in_tenant_a):
    ent = EntitlementFactory.build(tenant=in_tenant_a, quantity=Decimal(4), units=Decimal(2))
    assert ent.total == Decimal(8)
    ent.unlimited = True
    assert ent.total is None


def test_cost_is_quantity_times_units_times_unit_cost_for_a_one_off_payment():
    # 4 two-core packs at 25.50 a core: 4 × 2 × 25.50 = 204.00
    assert services.cost_for(quantity=Decimal(4), units=Decimal(2), unlimited=False, unit_cost=Decimal("25.50"),
                             frequency="once") == Decimal("204.00")


def test_cost_multiplies_by_the_payments_of_the_subscription():
    # 10 × 1 × 3.00 paid monthly over 12 months = 360.00; quarterly over 12 months = 4 payments = 120.00
    assert services.cost_for(quantity=Decimal(10), units=Decimal(1), unlimited=False, unit_cost=Decimal(3),
                             frequency="monthly", term=Term.SUBSCRIPTION, duration_months=12) == Decimal("360.00")
    assert services.cost_for(quantity=Decimal(10), units=Decimal(1), unlimited=False, unit_cost=Decimal(3),
                             frequency="quarterly", term=Term.SUBSCRIPTION, duration_months=12) == Decimal("120.00")
    # 13 months paid yearly: two started years = 2 payments → 10 × 3 × 2 = 60.00
    assert services.cost_for(quantity=Decimal(10), units=Decimal(1), unlimited=False, unit_cost=Decimal(3),
                             frequency="yearly", term=Term.SUBSCRIPTION, duration_months=13) == Decimal("60.00")
    # perpetual with a monthly fee reads as a yearly figure: 10 × 3 × 12 = 360.00
    assert services.cost_for(quantity=Decimal(10), units=Decimal(1), unlimited=False, unit_cost=Decimal(3),
                             frequency="monthly", term=Term.PERPETUAL) == Decimal("360.00")
    assert services.cost_for(quantity=None, units=Decimal(1), unlimited=True, unit_cost=Decimal(1000),
                             frequency="once") == Decimal("1000.00")
    assert services.cost_for(quantity=Decimal(1), units=Decimal(1), unlimited=False, unit_cost=None) is None


def test_a_saved_entitlement_stores_its_cost_and_subscription_end(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data(
        quantity=5, units=2, unit_cost=Decimal("7.5"), term=Term.SUBSCRIPTION, start_date=dt.date(2026, 1, 31),
        duration_months=1, payment_frequency="monthly"))
    ent.refresh_from_db()
    assert ent.end_date == dt.date(2026, 2, 28)
    assert ent.cost == Decimal("75.00")  # 5 × 2 × 7.5 × 1 payment
    assert ent.total == Decimal(10)


# --- validation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data, code", [
    ({"product": None, "title": ""}, "product.missing"),
    ({"quantity": None}, "quantity.missing"),
    ({"start_date": dt.date(2026, 5, 1), "end_date": dt.date(2026, 4, 1)}, "dates.end_before_start"),
    ({"term": Term.SUBSCRIPTION, "end_date": None, "duration_months": None}, "term.subscription_without_end"),
])
def test_each_error_is_reported_and_blocks_publishing(in_tenant_a, cast, data, code):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data(**data),
                                      publish=True)
    assert code in ent.errors
    assert ent.status == Status.DRAFT and ent.state == State.DRAFT_ERRORS
    with pytest.raises(services.EntitlementInvalid):
        services.entitlement_publish(entitlement=ent, actor=cast["license_manager"])
    assert Entitlement.objects.get(pk=ent.pk).status == Status.DRAFT


def test_missing_proof_is_an_error_only_where_the_tenant_requires_it(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data())
    assert "proof.missing" not in ent.errors
    in_tenant_a.settings = {"entitlements_require_proof": True}
    in_tenant_a.save()
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data())
    assert "proof.missing" in ent.errors
    ok = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"],
                                     data=valid_data(invoice_number="INV-1"))
    assert "proof.missing" not in ok.errors


def test_a_document_is_proof_of_purchase(in_tenant_a, cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    in_tenant_a.settings = {"entitlements_require_proof": True}
    in_tenant_a.save()
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data())
    assert "proof.missing" in ent.errors
    services.document_add(tenant=in_tenant_a, actor=cast["license_manager"], entitlement=ent,
                          file=SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 proof"))
    ent.refresh_from_db()
    assert "proof.missing" not in ent.errors


@pytest.mark.parametrize("data, code", [
    ({"unit_cost": None}, "cost.missing"),
    ({"term": Term.SUBSCRIPTION, "start_date": TODAY - dt.timedelta(days=300),
      "end_date": TODAY + dt.timedelta(days=30)}, "term.expiring"),
    ({"term": Term.SUBSCRIPTION, "start_date": dt.date(2020, 1, 1), "end_date": dt.date(2021, 1, 1)}, "term.expired"),
    ({}, "contract.missing"),
    ({"product": None, "title": "Home-made tool"}, "product.not_in_catalog"),
])
def test_each_warning_is_reported_and_does_not_block_publishing(in_tenant_a, cast, data, code):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data(**data))
    assert code in ent.warnings
    assert not ent.errors
    assert ent.state == State.DRAFT_WARNINGS
    services.entitlement_publish(entitlement=ent, actor=cast["license_manager"])
    assert Entitlement.objects.get(pk=ent.pk).state == State.PUBLISHED


def test_an_entitlement_with_nothing_to_warn_about_is_a_plain_draft(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"],
                                      data=valid_data(contract=ContractFactory(tenant=in_tenant_a)))
    assert (ent.errors, ent.warnings, ent.state) == ([], [], State.DRAFT)


def test_validate_returns_codes_and_stores_them(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data())
    Entitlement.objects.filter(pk=ent.pk).update(quantity=None)
    ent.refresh_from_db()
    errors, warnings = services.entitlement_validate(entitlement=ent)
    assert errors == ["quantity.missing"] and "contract.missing" in warnings
    assert Entitlement.objects.get(pk=ent.pk).errors == ["quantity.missing"]
    assert services.message_for("quantity.missing").startswith("Enter a quantity")


def test_a_maintenance_is_always_a_subscription(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["license_manager"], data=valid_data(
        type=EntitlementType.MAINTENANCE, term=Term.PERPETUAL, duration_months=36))
    assert ent.term == Term.SUBSCRIPTION
    assert ent.end_date == dt.date(2028, 1, 1)


# --- lifecycle ---------------------------------------------------------------------------------

def test_publish_and_move_to_draft_are_audited_and_request_recomputes(in_tenant_a, cast, recomputes,
                                                                      django_capture_on_commit_callbacks):
    actor = cast["license_manager"]
    with django_capture_on_commit_callbacks(execute=True):
        ent = services.entitlement_create(tenant=in_tenant_a, actor=actor, data=valid_data())
    assert recomputes == []  # a draft counts for nothing
    with django_capture_on_commit_callbacks(execute=True):
        services.entitlement_publish(entitlement=ent, actor=actor)
    assert Entitlement.objects.get(pk=ent.pk).status == Status.PUBLISHED
    with django_capture_on_commit_callbacks(execute=True):
        services.entitlement_unpublish(entitlement=ent, actor=actor)
    assert Entitlement.objects.get(pk=ent.pk).status == Status.DRAFT
    assert recomputes == ["entitlement published", "entitlement moved to draft"]
    actions = list(AuditEvent.objects.filter(object_id=str(ent.pk)).order_by("id").values_list("action", flat=True))
    assert actions == ["entitlements.entitlement.created", "entitlements.entitlement.published",
                       "entitlements.entitlement.unpublished"]


def test_changing_the_quantity_of_a_published_license_requests_a_recompute(in_tenant_a, cast, recomputes,
                                                                           django_capture_on_commit_callbacks):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(), publish=True)
    recomputes.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.entitlement_update(entitlement=ent, actor=cast["admin"], data={"comments": "noted"})
    assert recomputes == []
    with django_capture_on_commit_callbacks(execute=True):
        services.entitlement_update(entitlement=ent, actor=cast["admin"], data={"quantity": 12})
    assert recomputes == ["entitlement changed"]
    event = AuditEvent.objects.filter(action="entitlements.entitlement.updated").order_by("-id").first()
    assert Decimal(event.before["quantity"]) == 10 and Decimal(event.after["quantity"]) == 12


def test_an_update_that_breaks_a_published_license_shows_it_invalid_and_it_stops_counting(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(), publish=True)
    services.entitlement_update(entitlement=ent, actor=cast["admin"], data={"quantity": None})
    assert ent.state == State.INVALID
    assert not entitlements_counted(tenant=in_tenant_a, as_of=TODAY).filter(pk=ent.pk).exists()


def test_clone_is_a_new_draft_with_the_same_values_but_not_the_proof(in_tenant_a, cast):
    src = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], publish=True, data=valid_data(
        identifier="VIS-1", quantity=7, units=2, invoice_number="INV-9", version_upgrade=True))
    LicenseKey.objects.create(tenant=in_tenant_a, entitlement=src, key="AAAA-BBBB-CCCC-DDDD")
    clone = services.entitlement_clone(entitlement=src, actor=cast["admin"])
    assert clone.pk != src.pk and clone.status == Status.DRAFT
    assert (clone.product_id, clone.quantity, clone.units, clone.identifier, clone.version_upgrade) == (
        src.product_id, src.quantity, src.units, "VIS-1", True)
    assert clone.purchase_line_id is None and clone.license_keys.count() == 0
    assert AuditEvent.objects.filter(action="entitlements.entitlement.cloned", object_id=str(clone.pk)).exists()


def test_delete_is_audited(in_tenant_a, cast):
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data())
    pk = ent.pk
    services.entitlement_delete(entitlement=ent, actor=cast["admin"])
    assert not Entitlement.objects.filter(pk=pk).exists()
    assert AuditEvent.objects.filter(action="entitlements.entitlement.deleted", object_id=str(pk)).exists()


def test_withdraw_refuses_an_entitlement_a_person_changed(in_tenant_a, cast):
    untouched = services.entitlement_create(tenant=in_tenant_a, actor="receiving.transfer", data=valid_data())
    touched = services.entitlement_create(tenant=in_tenant_a, actor="receiving.transfer", data=valid_data())
    services.entitlement_update(entitlement=touched, actor=cast["license_manager"], data={"comments": "checked"})
    assert touched.changed_since_transfer
    untouched_pk = untouched.pk
    services.entitlement_withdraw(entitlement=untouched, actor="receiving.undo")
    assert not Entitlement.objects.filter(pk=untouched_pk).exists()
    with pytest.raises(services.EntitlementChanged):
        services.entitlement_withdraw(entitlement=touched, actor="receiving.undo")
    assert Entitlement.objects.filter(pk=touched.pk).exists()
    assert AuditEvent.objects.filter(action="entitlements.entitlement.withdrawn", object_id=str(untouched_pk)).exists()


def test_a_metric_conversion_supersedes_the_old_license(in_tenant_a, cast):
    old = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], publish=True,
                                      data=valid_data(metric="processor", quantity=2))
    new = services.entitlement_convert_metric(entitlement=old, actor=cast["admin"], metric="core",
                                              quantity=Decimal(16))
    old.refresh_from_db()
    assert new.supersedes_id == old.pk and new.metric == "core" and new.quantity == 16
    assert new.status == Status.PUBLISHED and old.status == Status.DRAFT
    assert list(entitlements_counted(tenant=in_tenant_a, as_of=TODAY).filter(product=old.product)) == [new]


def test_a_maintenance_covers_licenses_and_an_upgrade_names_its_base(in_tenant_a, cast):
    base = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data())
    upgrade = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(upgrades=base))
    maint = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(
        type=EntitlementType.MAINTENANCE, end_date=dt.date(2027, 1, 1), covers=[base]))
    assert list(maint.covers.all()) == [base]
    services.maintenance_set_covers(maintenance=maint, actor=cast["admin"], licenses=[base, upgrade])
    assert set(base.maintained_by.all()) == {maint}
    assert upgrade.upgrades == base and list(base.upgraded_by.all()) == [upgrade]


def test_a_sku_prefills_the_fields_it_decides(in_tenant_a, cast):
    sku = SkuFactory(units=Decimal(2), license_type="subscription", term_months=12, version_upgrade=True)
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data={
        "sku": sku.part_number, "quantity": 3, "start_date": dt.date(2026, 1, 31)})
    assert ent.product == sku.product and ent.from_sku
    assert (ent.units, ent.term, ent.version_upgrade, ent.end_date) == (
        Decimal(2), Term.SUBSCRIPTION, True, dt.date(2027, 1, 31))
    assert ent.total == Decimal(6)


# --- selectors -----------------------------------------------------------------------------------

def test_counted_entitlements_are_published_valid_active_and_in_the_default_repository(in_tenant_a, cast):
    admin = cast["admin"]
    counted = services.entitlement_create(tenant=in_tenant_a, actor=admin, data=valid_data(), publish=True)
    services.entitlement_create(tenant=in_tenant_a, actor=admin, data=valid_data())  # draft
    ended = services.entitlement_create(tenant=in_tenant_a, actor=admin, publish=True, data=valid_data(
        term=Term.SUBSCRIPTION, start_date=dt.date(2020, 1, 1), end_date=dt.date(2021, 1, 1)))
    services.entitlement_create(tenant=in_tenant_a, actor=admin, publish=True, data=valid_data(
        start_date=TODAY + dt.timedelta(days=10)))  # not started
    whatif = services.repository_create(tenant=in_tenant_a, actor=admin, name="What-if")
    other = services.entitlement_create(tenant=in_tenant_a, actor=admin, data=valid_data(repository=whatif),
                                        publish=True)
    assert list(entitlements_counted(tenant=in_tenant_a, as_of=TODAY)) == [counted]
    assert list(entitlements_counted(tenant=in_tenant_a, as_of=TODAY, repository=whatif)) == [other]
    assert list(entitlements_counted(tenant=in_tenant_a, as_of=dt.date(2020, 6, 1))) == [ended]
    assert list(entitlements_counted(tenant=in_tenant_a, as_of=dt.date(2019, 6, 1))) == []


def test_renewals_list_published_terms_ending_in_the_window(in_tenant_a, cast):
    soon = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], publish=True, data=valid_data(
        term=Term.SUBSCRIPTION, start_date=TODAY - dt.timedelta(days=300), end_date=TODAY + dt.timedelta(days=20)))
    services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], publish=True, data=valid_data(
        term=Term.SUBSCRIPTION, start_date=TODAY, end_date=TODAY + dt.timedelta(days=200)))
    assert list(renewals_due(tenant=in_tenant_a, as_of=TODAY, days=30)) == [soon]


# --- bulk ------------------------------------------------------------------------------------------

def test_create_many_is_set_based(in_tenant_a, cast, django_assert_max_num_queries):
    products = [ProductFactory() for _ in range(3)]
    sku = SkuFactory(units=Decimal(4))
    contract = ContractFactory(tenant=in_tenant_a)
    rows = [{"product": products[i % 3].pk, "quantity": i + 1, "unit_cost": 2, "contract": contract.pk,
             "po_number": f"PO-{i}"} for i in range(300)]
    rows += [{"sku": sku.part_number, "quantity": 1} for _ in range(100)]
    rows.append({"quantity": 5})  # no product: stays a draft with errors
    # A fixed number of lookups plus one INSERT per backend batch (SQLite caps the parameters of a
    # statement, PostgreSQL takes the whole batch): never a query per row.
    from math import ceil

    from django.db import connection

    def inserts(model):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        return ceil(len(rows) / connection.ops.bulk_batch_size(fields, rows))

    budget = 12 + inserts(Entitlement) + inserts(AuditEvent)
    assert budget < len(rows) / 5
    with django_assert_max_num_queries(budget):
        created = services.entitlements_create_many(tenant=in_tenant_a, actor="receiving.transfer", rows=rows,
                                                    publish=True)
    assert len(created) == 401 and all(e.pk for e in created)
    assert Entitlement.objects.filter(status=Status.PUBLISHED).count() == 400
    assert created[-1].state == State.DRAFT_ERRORS
    assert created[350].product == sku.product and created[350].total == Decimal(4)
    assert AuditEvent.objects.filter(action="entitlements.entitlement.created").count() == 401


def test_bulk_actions_report_refusals(in_tenant_a, cast):
    good = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data())
    bad = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(quantity=None))
    result = services.entitlements_bulk(tenant=in_tenant_a, actor=cast["admin"], ids=[good.pk, bad.pk],
                                        action="publish")
    assert result.done == 1 and len(result.refused) == 1 and f"#{bad.pk}" in result.refused[0]


def test_repositories_keep_one_default_and_refuse_deleting_it(in_tenant_a, cast):
    default = Repository.objects.get(is_default=True)
    with pytest.raises(services.EntitlementError):
        services.repository_delete(repository=default, actor=cast["admin"])
    with pytest.raises(services.EntitlementError):
        services.repository_create(tenant=in_tenant_a, actor=cast["admin"], name="default")


def test_versions_covered_follow_the_rights_and_the_edition_ranks(in_tenant_a, cast):
    from catalog.models import EditionRank, Publisher
    from entitlements.selectors import versions_covered

    pub = Publisher.objects.create(name="Contoso")
    make = {}
    for version in ("2019", "2021", "2024"):
        for edition in ("Standard", "Enterprise"):
            make[(version, edition)] = ProductFactory(publisher=pub, title="Database", version=version,
                                                      edition=edition)
    EditionRank.objects.create(publisher="Contoso", title="Database", edition="Standard", rank=1)
    EditionRank.objects.create(publisher="Contoso", title="Database", edition="Enterprise", rank=2)
    ent = services.entitlement_create(tenant=in_tenant_a, actor=cast["admin"], data=valid_data(
        product=make[("2021", "Enterprise")]))
    rows = {(r.product.version, r.product.edition): r.how for r in versions_covered(tenant=in_tenant_a,
                                                                                       entitlement=ent)}
    assert rows == {("2019", "Enterprise"): "version downgrade", ("2021", "Enterprise"): "this product"}
    services.entitlement_update(entitlement=ent, actor=cast["admin"], data={
        "version_upgrade": True, "edition_downgrade": True, "version_downgrade": False})
    rows = {(r.product.version, r.product.edition): r.how for r in versions_covered(tenant=in_tenant_a,
                                                                                       entitlement=ent)}
    assert rows == {("2021", "Enterprise"): "this product", ("2021", "Standard"): "edition downgrade",
                    ("2024", "Enterprise"): "version upgrade",
                    ("2024", "Standard"): "version upgrade, edition downgrade"}
