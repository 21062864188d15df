from __future__ import annotations

import pytest

from catalog.models import FingerprintRule, TenantFingerprintRule
from inventory.models import Device, Fingerprint, Installation
from inventory.recognition import fingerprint_classify, fingerprints_recognise
from sam.importing import import_file
from sam.models import AuditEvent
from tests.catalog.factories import ProductFactory, PublisherFactory

pytestmark = pytest.mark.django_db

RULES = b"""publisher,name,version,product_publisher,product,product_version,product_edition,classification
Contoso Ltd,Contoso Draw*,*,Contoso,Draw,2024,Pro,
Contoso Ltd,Contoso Draw 2022*,*,Contoso,Draw,2022,Pro,
Contoso Ltd,Contoso Updater*,*,,,,,irrelevant
"""


@pytest.fixture
def products(db):
    contoso = PublisherFactory(name="Contoso")
    return {v: ProductFactory(publisher=contoso, title="Draw", version=v, edition="Pro") for v in ("2022", "2024")}


def _fp(tenant, name, publisher="Contoso Ltd", version="1.0", **kw):
    return Fingerprint.objects.create(tenant=tenant, publisher=publisher, name=name, version=version, **kw)


def test_rules_classify_by_the_most_specific_match_and_leave_the_rest_unknown(in_tenant_a, products):
    import_file(kind="fingerprints", source=RULES, tenant=None, filename="f.csv", recompute=False)
    d24 = _fp(in_tenant_a, "Contoso Draw 2024 Pro")
    d22 = _fp(in_tenant_a, "CONTOSO DRAW 2022 PRO", publisher="contoso ltd")
    upd = _fp(in_tenant_a, "Contoso Updater")
    other = _fp(in_tenant_a, "Something Else", classification="product", product=products["2024"])
    fingerprints_recognise(tenant=in_tenant_a)
    for fp in (d24, d22, upd, other):
        fp.refresh_from_db()
    assert (d24.classification, d24.product) == ("product", products["2024"])
    # "Contoso Draw 2022*" is longer than "Contoso Draw*": the more specific rule wins.
    assert (d22.classification, d22.product) == ("product", products["2022"])
    assert (upd.classification, upd.product) == ("irrelevant", None)
    assert (other.classification, other.product) == ("unknown", None)


def test_a_tenant_rule_wins_over_a_more_specific_master_rule(in_tenant_a, tenant_b, products):
    FingerprintRule.objects.create(publisher="Contoso Ltd", name="Contoso Draw 2024 Pro*", product=products["2024"])
    TenantFingerprintRule.objects.create(tenant=in_tenant_a, publisher="*", name="Contoso*",
                                         classification="irrelevant")
    fp = _fp(in_tenant_a, "Contoso Draw 2024 Pro")
    assert fingerprints_recognise(tenant=in_tenant_a) == 1
    fp.refresh_from_db()
    assert fp.classification == "irrelevant"


def test_recognition_is_set_based(in_tenant_a, products, django_assert_max_num_queries):
    import_file(kind="fingerprints", source=RULES, tenant=None, filename="f.csv", recompute=False)
    Fingerprint.objects.bulk_create([Fingerprint(tenant=in_tenant_a, publisher="Contoso Ltd",
                                                 name=f"Contoso Draw {i}", version="1") for i in range(300)])
    with django_assert_max_num_queries(10):
        changed = fingerprints_recognise(tenant=in_tenant_a)
    assert changed == 300


def test_a_manual_classification_survives_a_rules_reimport(in_tenant_a, cast, products):
    device = Device.objects.create(tenant=in_tenant_a, name="PC-1")
    fp = _fp(in_tenant_a, "Contoso Draw 2024 Pro")
    Installation.objects.create(tenant=in_tenant_a, device=device, fingerprint=fp)
    import_file(kind="fingerprints", source=RULES, tenant=None, filename="f.csv", recompute=False)
    fp.refresh_from_db()
    assert fp.product == products["2024"]
    fingerprint_classify(tenant=in_tenant_a, fingerprint=fp, classification="product", product=products["2022"],
                         actor=cast["license_manager"])
    fp.refresh_from_db()
    assert (fp.manual, fp.product, fp.classified_by) == (True, products["2022"], "a-license_manager")
    assert AuditEvent.objects.filter(action="catalog.fingerprint.classified", object_id=str(fp.pk)).exists()
    # A tenant re-imports rules that would say otherwise: the person's choice stays.
    changed_rules = RULES.replace(b"Contoso Draw*,*,Contoso,Draw,2024,Pro,", b"Contoso Draw*,*,,,,,irrelevant")
    import_file(kind="fingerprints", source=changed_rules, tenant=in_tenant_a, filename="f.csv", recompute=False)
    import_file(kind="fingerprints", source=changed_rules, tenant=None, filename="f.csv", recompute=False)
    fingerprints_recognise(tenant=in_tenant_a)
    fp.refresh_from_db()
    assert (fp.classification, fp.product, fp.manual) == ("product", products["2022"], True)


def test_classifying_back_to_unknown_hands_the_row_to_the_rules(in_tenant_a, cast, products):
    import_file(kind="fingerprints", source=RULES, tenant=None, filename="f.csv", recompute=False)
    fp = _fp(in_tenant_a, "Contoso Draw 2024 Pro")
    fingerprint_classify(tenant=in_tenant_a, fingerprint=fp, classification="irrelevant", product=None,
                         actor=cast["admin"])
    assert fp.manual
    fingerprint_classify(tenant=in_tenant_a, fingerprint=fp, classification="unknown", product=None,
                         actor=cast["admin"])
    fp.refresh_from_db()
    assert (fp.manual, fp.classification, fp.product) == (False, "product", products["2024"])


def test_a_product_classification_needs_a_visible_product(in_tenant_a, tenant_b, cast):
    from django_scopes import scope

    from catalog.services import product_get_or_create

    with scope(tenant=tenant_b):
        foreign = product_get_or_create(publisher="B Corp", title="Secret", version="1", edition="",
                                        tenant=tenant_b)
    fp = _fp(in_tenant_a, "Whatever")
    with pytest.raises(ValueError):
        fingerprint_classify(tenant=in_tenant_a, fingerprint=fp, classification="product", product=foreign,
                             actor=cast["admin"])


def test_a_master_rules_import_recognises_every_tenants_fingerprints(tenant_a, tenant_b, products):
    from django_scopes import scope

    fps = {}
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            fps[tenant.pk] = _fp(tenant, "Contoso Draw 2024 Pro")
    result = import_file(kind="fingerprints", source=RULES, tenant=None, filename="f.csv", recompute=False)
    assert result.extra["recognised"] == 2
    for tenant in (tenant_a, tenant_b):
        with scope(tenant=tenant):
            fps[tenant.pk].refresh_from_db()
            assert fps[tenant.pk].product == products["2024"]
