"""The shipped master catalog (catalog/data/master): it loads, it is consistent, and its rules are right.

Every license-math number here is computed by hand in the comment next to it; the expressions and
the processor rows are read from the shipped files, never copied into the test.
"""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.demo import DEMO_INSTALLATIONS, DEMO_SKUS, MASTER_DIR, MASTER_KINDS, shipped_catalog_figures
from catalog.expressions import evaluate, names_used, validate_expression
from catalog.models import FingerprintRule, LicenseModel, ProcessorModel, Product, ProductTerms, Sku
from catalog.recognition import fingerprints_recognise
from catalog.selectors import edition_rank_lookup, processor_lookup
from inventory.models import Fingerprint
from sam.importing import import_file

DOCS = Path(__file__).resolve().parents[2] / "docs" / "catalog.md"


def _rows(kind: str, directory: Path = MASTER_DIR) -> list[dict[str, str]]:
    with (directory / f"{kind}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _key(row: dict[str, str]) -> tuple[str, str, str, str]:
    return (row["publisher"].strip(), row["product"].strip(), row["version"].strip(), row["edition"].strip())


def _rule_product(rule: dict[str, str]) -> tuple[str, str, str, str]:
    return (rule["product_publisher"].strip(), rule["product"].strip(), rule["product_version"].strip(),
            rule["product_edition"].strip())


PRODUCTS = {_key(r): r for r in _rows("catalog")}
MODELS = {r["name"]: r for r in _rows("license_models")}


def _quantity(product: tuple[str, str, str, str], facts: dict) -> Decimal:
    """The quantity the shipped default license model of ``product`` gives for ``facts``."""
    return evaluate(MODELS[PRODUCTS[product]["license_model"]]["quantity"], facts)


# --- the files alone ---------------------------------------------------------------------------------


def test_the_shipped_catalog_meets_its_targets():
    figures = shipped_catalog_figures()
    assert figures["products"] >= 150
    assert figures["recognition_rules"] >= 400
    assert figures["license_models"] >= 60
    assert figures["publishers"] == 10
    assert {k[0] for k in PRODUCTS} == {"Microsoft", "Oracle", "IBM", "Adobe", "VMware", "Red Hat", "SAP", "Autodesk",
                                        "Citrix", "Atlassian"}
    # Each publisher brings products, and every product names a license model that is shipped.
    for publisher in {k[0] for k in PRODUCTS}:
        assert sum(1 for k in PRODUCTS if k[0] == publisher) >= 8, publisher
    assert all(r["license_model"] in MODELS for r in PRODUCTS.values())


def test_the_master_ships_no_part_number_and_the_demo_part_numbers_name_shipped_products():
    # No SKU could be sourced with certainty: the master files hold products only.
    assert all(not r["sku"].strip() for r in _rows("catalog"))
    demo = _rows("catalog", DEMO_SKUS.parent)
    assert demo and all(r["sku"].strip() for r in demo)
    for row in demo:
        product = PRODUCTS[_key(row)]
        # The demo's SKU rows restate the product's rights, so loading them never changes the master's terms,
        # and they use the product's default model (a position is product x license model).
        for right in ("version_downgrade", "version_upgrade", "edition_downgrade"):
            assert row[right] == product[right], (row["sku"], right)
        assert row["license_model"] == product["license_model"], row["sku"]


SAMPLE_SERVER = {"processors": 2, "cores": 16, "cores_per_processor": 8, "threads": 32, "vcpus": 0,
                 "core_factor": Decimal("0.5"), "pvu_per_core": 70, "ram_gb": 256, "is_virtual": False,
                 "is_server": True}
SAMPLE_VM = {"processors": 1, "cores": 4, "cores_per_processor": 4, "threads": 4, "vcpus": 4,
             "core_factor": Decimal("0.5"), "pvu_per_core": 70, "ram_gb": 32, "is_virtual": True, "is_server": True}
SAMPLE_DESKTOP = {"processors": 1, "cores": 6, "cores_per_processor": 6, "threads": 12, "vcpus": 0,
                  "core_factor": Decimal("0.5"), "pvu_per_core": 70, "ram_gb": 16, "is_virtual": False,
                  "is_server": False}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_expression_parses_and_gives_a_quantity_on_a_sample_device(name):
    model = MODELS[name]
    text = validate_expression(model["quantity"])
    assert names_used(text) <= set(SAMPLE_SERVER)
    for facts in (SAMPLE_SERVER, SAMPLE_VM, SAMPLE_DESKTOP):
        quantity = evaluate(text, facts)
        assert quantity >= 0, (name, facts)
    assert model["assignment"] in ("device", "device_second_copy", "named_user", "ose", "none")
    assert model["rounding"] in ("consumer", "position")
    # A model that needs no license must say so: assignment none goes with effective = no.
    assert (model["assignment"] == "none") == (model["effective"] == "no"), name


def test_every_recognition_rule_points_at_a_shipped_product_or_is_irrelevant():
    rules = _rows("fingerprints")
    seen = set()
    for rule in rules:
        key = (rule["publisher"].lower(), rule["name"].lower(), rule["version"].lower())
        assert key not in seen, key  # one rule per pattern triple
        seen.add(key)
        if rule["classification"] == "irrelevant":
            assert not rule["product"]
        else:
            assert _rule_product(rule) in PRODUCTS, rule
        # No rule matches everything of a publisher: the name always has a literal part.
        assert len(rule["name"].replace("*", "").strip()) >= 3, rule


def test_edition_ranks_are_consistent():
    ranks: dict[tuple[str, str], dict[str, int]] = {}
    for row in _rows("editions"):
        ranks.setdefault((row["publisher"], row["product"]), {})[row["edition"]] = int(row["rank"])
    for (publisher, title), by_edition in ranks.items():
        # Each ranked edition is a shipped product edition, and no two editions of a title share a rank.
        editions = {k[3] for k in PRODUCTS if k[:2] == (publisher, title)}
        assert set(by_edition) <= editions, (title, set(by_edition) - editions)
        assert len(set(by_edition.values())) == len(by_edition), title
    # A product with the edition downgrade right has a rank and a lower-ranked edition to cover.
    for key, row in PRODUCTS.items():
        if row["edition_downgrade"] == "yes":
            title_ranks = ranks[key[:2]]
            assert key[3] in title_ranks and min(title_ranks.values()) < title_ranks[key[3]], key

    def higher(publisher, title, *editions):
        values = [ranks[(publisher, title)][e] for e in editions]
        return values == sorted(values, reverse=True) and len(set(values)) == len(values)

    assert higher("Microsoft", "Windows Server", "Datacenter", "Standard", "Essentials")
    assert higher("Microsoft", "SQL Server", "Enterprise", "Standard", "Web", "Express")
    assert higher("Microsoft", "Office LTSC", "Professional Plus", "Standard")
    assert higher("Microsoft", "Visio LTSC", "Professional", "Standard")
    assert higher("Microsoft", "Project", "Professional", "Standard")
    assert higher("Oracle", "Database", "Enterprise Edition", "Standard Edition 2", "Express Edition")
    assert higher("IBM", "Db2", "Advanced Edition", "Standard Edition", "Community Edition")
    assert higher("Adobe", "Acrobat", "Pro", "Standard")
    assert higher("VMware", "vSphere", "Enterprise Plus", "Standard", "Essentials Plus")
    assert higher("SAP", "S/4HANA", "Professional Use", "Functional Use", "Productivity Use")
    assert higher("Citrix", "Virtual Apps and Desktops", "Premium", "Advanced")
    assert higher("Red Hat", "OpenShift", "Platform Plus", "Container Platform", "Kubernetes Engine")


def test_windows_server_core_licenses_by_hand():
    ws = ("Microsoft", "Windows Server", "2022", "Standard")
    # 2 sockets x 8 cores: max(max(8, 8) x 2, 16) = max(16, 16) = 16
    assert _quantity(ws, {"cores_per_processor": 8, "processors": 2}) == 16
    # 2 sockets x 4 cores: max(max(4, 8) x 2, 16) = 16 (8 per processor minimum)
    assert _quantity(ws, {"cores_per_processor": 4, "processors": 2}) == 16
    # 1 socket x 4 cores: max(max(4, 8) x 1, 16) = 16 (16 per server minimum)
    assert _quantity(ws, {"cores_per_processor": 4, "processors": 1}) == 16
    # 2 sockets x 12 cores: max(24, 16) = 24
    assert _quantity(ws, {"cores_per_processor": 12, "processors": 2}) == 24
    # Datacenter counts the same way; the difference is the edition (and later: VMs per license).
    dc = ("Microsoft", "Windows Server", "2025", "Datacenter")
    assert PRODUCTS[dc]["license_model"] == PRODUCTS[ws]["license_model"]


def test_sql_server_core_licenses_by_hand():
    sql = ("Microsoft", "SQL Server", "2022", "Enterprise")
    physical = {"is_virtual": False, "vcpus": 0, "processors": 2}
    # physical, 2 x 10 cores: max(10, 4) x 2 = 20
    assert _quantity(sql, {**physical, "cores_per_processor": 10}) == 20
    # physical, 2 x 2 cores: max(2, 4) x 2 = 8
    assert _quantity(sql, {**physical, "cores_per_processor": 2}) == 8
    # a VM with 2 vCPUs: max(2, 4) = 4; with 6 vCPUs: 6
    vm = {"is_virtual": True, "processors": 1, "cores_per_processor": 2}
    assert _quantity(sql, {**vm, "vcpus": 2}) == 4
    assert _quantity(sql, {**vm, "vcpus": 6}) == 6
    assert evaluate(MODELS["SQL Server Per Core (virtual OSE)"]["quantity"], {"vcpus": 2}) == 4


def test_other_publishers_metrics_by_hand():
    # VMware by Broadcom, 2 x 8 cores: max(8, 16) x 2 = 32 core licenses
    assert _quantity(("VMware", "vSphere", "8", "Standard"), {"cores_per_processor": 8, "processors": 2}) == 32
    # VMware per CPU (2020-2023), 2 x 48 cores: 2 x ceil(48 / 32) = 2 x 2 = 4 CPU licenses
    assert _quantity(("VMware", "vSphere", "7", "Standard"), {"cores_per_processor": 48, "processors": 2}) == 4
    rhel = ("Red Hat", "Red Hat Enterprise Linux", "9", "Server")
    # RHEL Server: 2 sockets -> ceil(2 / 2) = 1; 4 sockets -> 2; a VM -> half a subscription (2 guests each)
    assert _quantity(rhel, {"is_virtual": False, "processors": 2}) == 1
    assert _quantity(rhel, {"is_virtual": False, "processors": 4}) == 2
    assert _quantity(rhel, {"is_virtual": True, "processors": 1}) == Decimal("0.5")
    assert MODELS[PRODUCTS[rhel]["license_model"]]["rounding"] == "position"
    ocp = ("Red Hat", "OpenShift", "4", "Container Platform")
    # OpenShift: 6 vCPUs -> ceil(6 / 4) = 2; 16 physical cores -> ceil(16 / 2) = 8
    assert _quantity(ocp, {"is_virtual": True, "vcpus": 6, "cores": 0}) == 2
    assert _quantity(ocp, {"is_virtual": False, "vcpus": 0, "cores": 16}) == 8
    # SAP HANA, 256 GB: ceil(256 / 64) = 4 units; 300 GB: ceil(4.6875) = 5
    hana = ("SAP", "HANA", "2.0", "Enterprise Edition")
    assert _quantity(hana, {"ram_gb": 256}) == 4
    assert _quantity(hana, {"ram_gb": 300}) == 5
    # S/4HANA FUE: 30 Self-Service users are 30 x 1/30 = 1 FUE, 5 Core Use users 5 x 0.2 = 1 FUE
    self_service = _quantity(("SAP", "S/4HANA Cloud Private Edition", "", "Self-Service Use"), {})
    assert abs(self_service * 30 - 1) < Decimal("1e-20")
    assert _quantity(("SAP", "S/4HANA Cloud Private Edition", "", "Core Use"), {}) * 5 == 1
    # IBM Virtual Processor Core: a VM with 4 vCPUs on a 32-core host -> 4; the host itself -> 32
    ace = ("IBM", "App Connect Enterprise", "13.0", "")
    assert _quantity(ace, {"is_virtual": True, "vcpus": 4, "cores": 32}) == 4
    assert _quantity(ace, {"is_virtual": False, "vcpus": 0, "cores": 32}) == 32


def test_microsoft_perpetual_licenses_carry_the_90_day_reassignment_period():
    for key in (("Microsoft", "Windows Server", "2022", "Standard"), ("Microsoft", "SQL Server", "2022", "Enterprise"),
                ("Microsoft", "Office LTSC", "2024", "Professional Plus"), ("Microsoft", "Visio LTSC", "2021", "Professional"),
                ("Microsoft", "Windows Server CAL", "2025", "User"), ("Microsoft", "Exchange Server", "2019", "Standard")):
        assert PRODUCTS[key]["min_entitlement_days"] == "90", key
    # Free editions and per-user subscriptions have no such period.
    for key in (("Microsoft", "SQL Server", "2022", "Express"), ("Microsoft", "Microsoft 365", "", "E3")):
        assert PRODUCTS[key]["min_entitlement_days"] == "0", key
    # No other publisher's product carries it.
    assert {k[0] for k, r in PRODUCTS.items() if r["min_entitlement_days"] != "0"} == {"Microsoft"}


def test_the_shipped_catalog_command_prints_the_figures_and_times_recognition():
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("shipped_catalog", "--recognition", "200", stdout=out)
    data = json.loads(out.getvalue())
    assert data["figures"] == shipped_catalog_figures()
    # 200 applications, every tenth one of the 20 demo installations (i = 0, 10, ..., 190 -> 20 names), of
    # which 18 are products or irrelevant and 2 are meant to stay unknown; the other 180 names are unknown.
    assert (data["recognition"]["fingerprints"], data["recognition"]["matched"]) == (200, 18)


def test_the_figures_in_the_docs_are_the_computed_ones():
    text = DOCS.read_text(encoding="utf-8")
    for name, value in shipped_catalog_figures().items():
        assert re.search(rf"^\| `{name}` \| {value} \|", text, re.MULTILINE), f"docs/catalog.md: {name} = {value}"


# --- loaded into the database ------------------------------------------------------------------------


def _load_master():
    results = {kind: import_file(kind=kind, source=MASTER_DIR / f"{kind}.csv", tenant=None, recompute=False)
               for kind in MASTER_KINDS}
    return results


@pytest.mark.django_db
def test_the_shipped_files_load_without_a_rejected_row_and_a_second_load_changes_nothing(django_assert_max_num_queries):
    figures = shipped_catalog_figures()
    with django_assert_max_num_queries(400):  # set-based: queries per chunk, not per row (~1,100 rows)
        first = _load_master()
    for result in first.values():
        assert result.rejected == 0, result.summary()
    assert Product.objects.count() == figures["products"]
    assert ProductTerms.objects.count() == figures["products"]
    assert LicenseModel.objects.count() == figures["license_models"]
    assert FingerprintRule.objects.count() == figures["recognition_rules"]
    assert ProcessorModel.objects.count() == figures["processor_rows"]
    assert Sku.objects.count() == 0
    again = _load_master()
    for result in again.values():
        assert (result.created, result.updated, result.rejected) == (0, 0, 0), result.summary()
    # The demo's part numbers load on top without a rejection and without changing a product's terms.
    terms = {t.product_id: (t.version_downgrade, t.version_upgrade, t.edition_downgrade, t.min_entitlement_days,
                            t.default_license_model) for t in ProductTerms.objects.all()}
    demo = import_file(kind="catalog", source=DEMO_SKUS, tenant=None, recompute=False)
    assert demo.rejected == 0 and Sku.objects.count() == demo.read
    assert terms == {t.product_id: (t.version_downgrade, t.version_upgrade, t.edition_downgrade, t.min_entitlement_days,
                                    t.default_license_model) for t in ProductTerms.objects.all()}


@pytest.mark.django_db
def test_oracle_core_factors_and_ibm_pvus_from_the_shipped_processor_table():
    import_file(kind="processors", source=MASTER_DIR / "processors.csv", tenant=None, recompute=False)
    lookup = processor_lookup(tenant=None)
    xeon = "Intel(R) Xeon(R) Gold 6234 CPU @ 3.30GHz"
    factor, pvu = lookup(xeon, 2)
    # Oracle Database EE (processor metric) on 2 x 8-core Xeon: 16 cores x 0.5 = 8 processor licenses
    oracle_ee = MODELS[PRODUCTS[("Oracle", "Database", "19c", "Enterprise Edition")]["license_model"]]
    assert evaluate(oracle_ee["quantity"], {"cores": 16, "core_factor": factor}) == 8
    assert oracle_ee["rounding"] == "position"
    # IBM Db2 (PVU) on the same server: 16 cores x 70 PVU (Xeon, 2 sockets) = 1,120 PVU
    db2 = MODELS[PRODUCTS[("IBM", "Db2", "11.5", "Standard Edition")]["license_model"]]
    assert evaluate(db2["quantity"], {"cores": 16, "pvu_per_core": pvu}) == 1120
    # Xeon in a 4-socket server: 100 PVU per core; in an 8-socket server: 120
    assert lookup("Intel Xeon Platinum 8380H", 4) == (Decimal("0.5"), 100)
    assert lookup("Intel Xeon Platinum 8380H", 8) == (Decimal("0.5"), 120)
    assert lookup("AMD EPYC 7313 16-Core Processor", 1) == (Decimal("0.5"), 70)
    assert lookup("AMD Opteron(tm) Processor 6376", 2) == (Decimal("0.5"), 50)
    # POWER9 in a 2-socket server (S922): core factor 1.0, 70 PVU; 4 sockets (E950): 100
    assert lookup("POWER9 (architected), altivec supported", 2) == (Decimal("1.0"), 70)
    assert lookup("IBM POWER10", 4) == (Decimal("1.0"), 100)
    # SPARC: T3 0.25, T5 and M7 0.5, SPARC64 VII 0.75 but VII+ 0.5 (the more specific row wins)
    assert lookup("SPARC T3", 1)[0] == Decimal("0.25")
    assert lookup("SPARC T5", 4)[0] == Decimal("0.5")
    assert lookup("SPARC M7", 8)[0] == Decimal("0.5")
    assert lookup("SPARC64 VII", 4)[0] == Decimal("0.75")
    assert lookup("SPARC64 VII+", 4)[0] == Decimal("0.5")
    # Desktop Intel Core: Oracle's 0.5, and no PVU row (IBM rates it by model; none shipped)
    assert lookup("Intel(R) Core(TM) i7-1365U", 1) == (Decimal("0.5"), None)
    # Names of other estates (the acceptance run's "Demo CPU") match no shipped row.
    assert lookup("Demo CPU X", 2) == (None, None)


#: (publisher, name, version) as installed -> the product (publisher, title, version, edition) or a class.
RECOGNISED = [
    (("Microsoft Corporation", "Microsoft Office Professional Plus 2016", "16.0.4266.1001"),
     ("Microsoft", "Office LTSC", "2016", "Professional Plus")),
    (("Microsoft Corporation", "Microsoft Office LTSC Standard 2024 - de-de", "16.0.17932.20130"),
     ("Microsoft", "Office LTSC", "2024", "Standard")),
    (("Microsoft Corporation", "Microsoft Visio Professional 2019 - en-us", "16.0.10417.20012"),
     ("Microsoft", "Visio LTSC", "2019", "Professional")),
    (("Microsoft Corporation", "Microsoft Project Standard 2024 - en-us", "16.0.17932.20130"),
     ("Microsoft", "Project", "2024", "Standard")),
    (("", "Microsoft Windows Server 2025 Datacenter", "10.0.26100"), ("Microsoft", "Windows Server", "2025", "Datacenter")),
    (("Microsoft Corporation", "Windows Server 2019 Standard Evaluation", "10.0.17763"),
     ("Microsoft", "Windows Server", "2019", "Standard")),
    (("Microsoft Corporation", "Microsoft SQL Server 2019 Standard Edition (64-bit)", "15.0.2000.5"),
     ("Microsoft", "SQL Server", "2019", "Standard")),
    (("Microsoft Corporation", "Microsoft SQL Server 2022 Express LocalDB", "16.0.1000.6"),
     ("Microsoft", "SQL Server", "2022", "Express")),
    # The free Enterprise Developer edition of 2025 is not taken for Enterprise (the longer literal wins).
    (("Microsoft Corporation", "Microsoft SQL Server 2025 Enterprise Developer Edition (64-bit)", "17.0.1000.7"),
     ("Microsoft", "SQL Server", "2025", "Enterprise Developer")),
    (("Microsoft Corporation", "Microsoft SQL Server 2025 Enterprise Edition (64-bit)", "17.0.1000.7"),
     ("Microsoft", "SQL Server", "2025", "Enterprise")),
    (("Microsoft Corporation", "Visual Studio Professional 2022", "17.8.3"), ("Microsoft", "Visual Studio", "2022", "Professional")),
    (("Microsoft Corporation", "Microsoft Exchange Server 2019 Cumulative Update 14", "15.2.1544.4"),
     ("Microsoft", "Exchange Server", "2019", "Enterprise")),
    (("Oracle Corporation", "Java 8 Update 401 (64-bit)", "8.0.4010.10"), ("Oracle", "Java SE", "8", "")),
    (("Oracle Corporation", "Java(TM) SE Development Kit 17.0.10 (64-bit)", "17.0.10.0"), ("Oracle", "Java SE", "17", "")),
    (("Oracle Corporation", "Oracle VM VirtualBox 7.0.14", "7.0.14"), ("Oracle", "VM VirtualBox", "7.0", "")),
    (("IBM", "IBM Db2 Advanced Edition", "11.5.9.0"), ("IBM", "Db2", "11.5", "Advanced Edition")),
    (("Adobe Inc.", "Adobe Photoshop 2025", "26.1.0"), ("Adobe", "Photoshop", "", "")),
    (("Adobe Inc.", "Adobe Lightroom Classic", "13.1"), ("Adobe", "Lightroom Classic", "", "")),
    (("Adobe Inc.", "Adobe Acrobat 2020 Pro", "20.005.30574"), ("Adobe", "Acrobat", "2020", "Pro")),
    (("Autodesk, Inc.", "AutoCAD Mechanical 2024 - English", "24.3.61.0"), ("Autodesk", "AutoCAD", "2024", "")),
    (("Autodesk, Inc.", "AutoCAD LT 2025 - English", "25.0.58.0"), ("Autodesk", "AutoCAD LT", "2025", "")),
    (("Autodesk", "Revit 2026", "26.0.4.409"), ("Autodesk", "Revit", "2026", "")),
    (("VMware, Inc.", "VMware ESXi", "7.0.3"), ("VMware", "vSphere", "7", "Enterprise Plus")),
    (("Red Hat, Inc.", "redhat-release", "9.4"), ("Red Hat", "Red Hat Enterprise Linux", "9", "Server")),
    (("Red Hat, Inc.", "eap7-wildfly", "7.4.14"), ("Red Hat", "JBoss Enterprise Application Platform", "7", "")),
    (("SAP SE", "SAP GUI for Windows 8.00 (Patch 3)", "8.00.3"), ("SAP", "SAP GUI for Windows", "8.00", "")),
    (("Citrix Systems, Inc.", "Citrix Workspace 2311", "23.11.0.160"), ("Citrix", "Workspace app", "", "")),
    (("Atlassian", "Jira Software 10.3.1", "10.3.1"), ("Atlassian", "Jira Software", "10", "Data Center")),
    # Shared components, runtimes and free clients are irrelevant ...
    (("Microsoft Corporation", "Microsoft ODBC Driver 17 for SQL Server", "17.10.5.1"), "irrelevant"),
    (("Microsoft Corporation", "SQL Server 2019 Common Files", "15.0.2000.5"), "irrelevant"),
    (("Microsoft Corporation", "Office 16 Click-to-Run Extensibility Component", "16.0.17932"), "irrelevant"),
    (("Adobe Inc.", "Adobe Acrobat Reader DC - Deutsch", "24.001"), "irrelevant"),
    (("Autodesk, Inc.", "Autodesk DWG TrueView 2025 - English", "25.0.58.0"), "irrelevant"),
    (("VMware, Inc.", "VMware Tools", "12.3.5"), "irrelevant"),
    (("Eclipse Adoptium", "Eclipse Temurin JDK with Hotspot 21.0.2+13 (x64)", "21.0.2.13"), "irrelevant"),
    # ... and where the name does not reveal the edition (and editions differ widely), it stays unknown.
    (("Microsoft Corporation", "Microsoft SQL Server 2019 (64-bit)", "15.0.2000.5"), "unknown"),
    (("Atlassian", "Jira Software 9.12.2", "9.12.2"), "unknown"),
    (("Oracle Corporation", "MySQL Server 8.0", "8.0.36"), "unknown"),
    # Names of other estates (the acceptance run's catalog) are left to their own rules.
    (("Contoso Ltd", "Contoso Draw 2024 Pro", "24.0.3"), "unknown"),
    (("Contoso Ltd", "Contoso Updater", "3.0"), "unknown"),
    (("Fabrikam Inc", "Fabrikam DB 10 Enterprise", "10.2"), "unknown"),
]


@pytest.mark.django_db
def test_installed_names_are_recognised_as_the_right_product(in_tenant_a):
    for kind in ("license_models", "catalog", "fingerprints"):
        import_file(kind=kind, source=MASTER_DIR / f"{kind}.csv", tenant=None, recompute=False)
    demo = [((p, n, v), klass) for p, n, v, klass in DEMO_INSTALLATIONS]
    fingerprints = {}
    for (publisher, name, version), _want in RECOGNISED + demo:
        fingerprints[(publisher, name, version)] = Fingerprint.objects.create(
            tenant=in_tenant_a, publisher=publisher, name=name, version=version)
    fingerprints_recognise(tenant=in_tenant_a)
    for triple, want in RECOGNISED:
        fp = fingerprints[triple]
        fp.refresh_from_db()
        if isinstance(want, str):
            assert (fp.classification, fp.product_id) == (want, None), triple
        else:
            product = fp.product
            assert fp.classification == "product" and product is not None, triple
            assert (product.publisher.name, product.title, product.version, product.edition) == want, triple
    # The demo estate's installations keep the classification the demo is written for.
    for triple, want in demo:
        fp = fingerprints[triple]
        fp.refresh_from_db()
        assert fp.classification == want, triple


@pytest.mark.django_db
def test_edition_ranks_load_and_answer_the_engine_lookup():
    import_file(kind="editions", source=MASTER_DIR / "editions.csv", tenant=None, recompute=False)
    rank = edition_rank_lookup(tenant=None)
    assert rank("Microsoft", "Windows Server", "Datacenter") > rank("Microsoft", "Windows Server", "Standard")
    assert rank("Microsoft", "SQL Server", "Enterprise") > rank("Microsoft", "SQL Server", "Standard") > rank(
        "Microsoft", "SQL Server", "Express")
    assert rank("Adobe", "Acrobat", "Pro") > rank("Adobe", "Acrobat", "Standard")
