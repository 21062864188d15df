"""A balance auditors can trust: reads never write, stable positions, requirement history, what changed per
position with causes, what-if on top of reality, remediation. Numbers are computed by hand in comments."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_scopes import scope

from requirements_engine.models import Allocation, BalanceRow, RequirementHistory
from tests.requirements_engine.balance_builders import (
    device,
    entitlement,
    license_model,
    product,
    requirement,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date.today()
D1 = TODAY - dt.timedelta(days=1)
D2 = TODAY


def url(name, **kwargs):
    return reverse(f"requirements:{name}", kwargs={"tenant": "tenant-a", **kwargs})


def login(client, username):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))


def read_tsv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def build(tenant):
    """Draw 2022/2024 Pro per device, Fabrikam DB per core; one Draw 2024 license, four DB core licenses.

    Manual requirements (the engine keeps them as typed): PC-1 needs Draw 2022 (1), SRV-1 needs DB (4).
    """
    from catalog.models import Sku

    license_model("Per Device")
    license_model("Per Core", metric="core", assignment="ose")
    p22 = product("Contoso", "Draw", "2022", "Pro", release=dt.date(2022, 3, 1))
    p24 = product("Contoso", "Draw", "2024", "Pro", release=dt.date(2024, 3, 1))
    db = product("Fabrikam", "DB", "10", "Enterprise", model="Per Core", release=dt.date(2023, 6, 1))
    l1 = entitlement(tenant, p24, 1, sku="CD-24P")  # may cover Draw 2022 by version downgrade
    l2 = entitlement(tenant, db, 4, model="Per Core")
    Sku.objects.create(part_number="FDB-10E-2C", product=db, license_model="Per Core", units=2,
                       list_price=Decimal("9000"), currency="EUR")
    Sku.objects.create(part_number="FDB-10E-1C", product=db, license_model="Per Core", units=1,
                       list_price=Decimal("5000"), currency="EUR")
    pcs = {n: device(tenant, n) for n in ("PC-1", "PC-3")}
    srv = device(tenant, "SRV-1", role="server")
    # Entered directly (no service, so no recompute runs before D1's); manual: the engine keeps them as typed.
    r1 = requirement(tenant, p22, 1, consumer=pcs["PC-1"], model="Per Device", manual=True)
    rdb = requirement(tenant, db, 4, consumer=srv, model="Per Core", manual=True)
    return {"p22": p22, "p24": p24, "db": db, "l1": l1, "l2": l2, "r1": r1, "rdb": rdb, "srv": srv, **pcs}


def change_the_estate(tenant, e, actor):
    """Between D1 and D2: PC-1's Draw 2022 goes, SRV-1's DB grows 4 → 6, PC-3 starts needing Draw 2024."""
    from requirements_engine.confirmations import requirement_manual_delete, requirement_manual_save

    requirement_manual_delete(tenant=tenant, actor=actor, requirement=e["r1"])
    requirement_manual_save(tenant=tenant, actor=actor, product=e["db"], quantity=Decimal(6),
                            license_model="Per Core", device=e["srv"], requirement=e["rdb"])
    return requirement_manual_save(tenant=tenant, actor=actor, product=e["p24"], quantity=Decimal(1),
                                   license_model="Per Device", device=e["PC-3"])


@pytest.fixture
def two_days(tenant_a, cast):
    """D1 (yesterday) recorded by an engine run, then the changes, then D2 (today) by another run."""
    from requirements_engine.services import recompute_now

    with scope(tenant=tenant_a):
        e = build(tenant_a)
        recompute_now(tenant=tenant_a, as_of=D1)
        e["r3"] = change_the_estate(tenant_a, e, cast["license_manager"])
        recompute_now(tenant=tenant_a, as_of=D2)
    return e


def position(tenant, prod, day, model="Per Device"):
    return BalanceRow.objects.filter(tenant=tenant, as_of=day, product=prod, license_model=model,
                                     repository_id_ref__isnull=True).first()


# --- 1. reads never write ---------------------------------------------------------------------------


def test_reading_any_day_never_stores_a_snapshot(client, two_days, tenant_a):
    with scope(tenant=tenant_a):
        stored = sorted(BalanceRow.objects.values_list("id", "as_of"))
        allocations = Allocation.objects.count()
    login(client, "a-auditor")
    future, past = "2027-06-30", (D1 - dt.timedelta(days=30)).isoformat()
    for query in (f"?as_of={future}", f"?as_of={past}", f"?as_of={future}&compute=1", f"?as_of={past}&export=tsv"):
        assert client.get(url("balance") + query).status_code == 200
    assert client.get(url("balance-dashboard") + f"?as_of={future}").status_code == 200
    assert client.get(url("balance-audit-pack") + f"?as_of={future}").status_code == 200
    call_command("export_data", "balance", "--tenant", "tenant-a", "--as-of", future, stdout=io.StringIO())
    call_command("export_data", "allocation", "--tenant", "tenant-a", "--as-of", future, stdout=io.StringIO())
    with scope(tenant=tenant_a):
        assert sorted(BalanceRow.objects.values_list("id", "as_of")) == stored
        assert Allocation.objects.count() == allocations
    # The default day is still today's stored state, for the auditor and for everyone else.
    body = client.get(url("balance")).content.decode()
    assert f"on {D2.isoformat()}" in body


def test_a_day_without_a_snapshot_says_so_and_offers_the_nearest_days(client, two_days):
    login(client, "a-auditor")
    body = client.get(url("balance") + "?as_of=2027-06-30").content.decode()
    assert "There is no stored balance of 2027-06-30" in body
    assert f'?as_of={D2.isoformat()}" class="nearest-day"' in body and f"?as_of={D1.isoformat()}" in body
    assert 'id="balance"' in body and "0 positions on 2027-06-30" in body
    computed = client.get(url("balance") + "?as_of=2027-06-30&compute=1").content.decode()
    # Computed from today's requirements: Draw 2024 (PC-3, its own license) and DB (6 cores needed, 4 licensed →
    # shortfall 2) are the 2 positions; Draw 2022 has neither demand nor a license. Labelled as not stored.
    assert "Computed view, not stored." in computed and "2 positions on 2027-06-30, 1 in shortfall" in computed


@pytest.mark.parametrize("value", ["2026-02-30", "yesterday", "9999-12-31", "0001-01-01"])
def test_an_invalid_day_gives_a_clear_message_never_a_500(client, two_days, value):
    login(client, "a-auditor")
    for name in ("balance", "balance-dashboard", "reconciliation"):
        response = client.get(url(name) + f"?as_of={value}")
        assert response.status_code == 200, (name, value)
        assert f"“{value}”" in response.content.decode()
    assert client.get(url("balance-audit-pack") + f"?as_of={value}").status_code == 400
    assert client.get(url("balance-changes") + f"?from={value}").status_code == 200
    product_id = two_days["db"].pk
    assert client.get(url("balance-position-of", product=product_id, model="Per Core") + f"?as_of={value}"
                      ).status_code == 200


# --- 2. stable position addresses -----------------------------------------------------------------


def test_a_position_url_survives_three_recomputes(client, two_days, tenant_a):
    from requirements_engine.services import recompute_now

    login(client, "a-auditor")
    link = url("balance-position-of", product=two_days["db"].pk, model="Per Core")
    dated = link + f"?as_of={D2.isoformat()}"
    with scope(tenant=tenant_a):
        old_id = position(tenant_a, two_days["db"], D2, "Per Core").pk
    first = client.get(dated)
    assert first.status_code == 200
    with scope(tenant=tenant_a):
        for _ in range(3):
            recompute_now(tenant=tenant_a, as_of=D2)
        assert position(tenant_a, two_days["db"], D2, "Per Core").pk != old_id  # the rows were replaced
    for address in (link, dated):
        again = client.get(address)
        body = again.content.decode()
        # SRV-1 needs 6 cores, 4 licensed: required 6, covered 4, shortfall 6 - 4 = 2.
        assert again.status_code == 200 and "Fabrikam DB 10 Enterprise" in body
        assert 'id="kpi-required">6<' in body and 'id="kpi-covered">4<' in body and 'id="kpi-shortfall">2<' in body
    # A past day of the same position is the stored snapshot of that day: required 4, no shortfall.
    past = client.get(link + f"?as_of={D1.isoformat()}").content.decode()
    assert 'id="kpi-required">4<' in past and 'id="kpi-shortfall">0<' in past
    # The replaced row id is gone: the old id link is a 404, the stable one is not.
    assert client.get(url("balance-position", pk=old_id)).status_code == 404


# --- 3. history of requirements -------------------------------------------------------------------


def test_export_and_audit_pack_of_a_past_day_hold_that_days_requirements(client, two_days, tenant_a):
    out = io.StringIO()
    call_command("export_data", "requirements", "--tenant", "tenant-a", "--as-of", D1.isoformat(), stdout=out)
    past = {(r["consumer"], r["product"], r["version"]): r["quantity"] for r in read_tsv(out.getvalue())}
    # D1: PC-1 needed Draw 2022 (1), SRV-1 needed 4 DB cores; PC-3 needed nothing yet.
    assert past == {("PC-1", "Draw", "2022"): "1", ("SRV-1", "DB", "10"): "4"}
    out = io.StringIO()
    call_command("export_data", "requirements", "--tenant", "tenant-a", "--as-of", D2.isoformat(), stdout=out)
    now = {(r["consumer"], r["product"], r["version"]): r["quantity"] for r in read_tsv(out.getvalue())}
    assert now == {("PC-3", "Draw", "2024"): "1", ("SRV-1", "DB", "10"): "6"}
    login(client, "a-auditor")
    pack = client.get(url("balance-audit-pack") + f"?as_of={D1.isoformat()}")
    with zipfile.ZipFile(io.BytesIO(pack.content)) as zf:
        rows = read_tsv(zf.read(f"requirements-{D1.isoformat()}.tsv").decode())
        balance = read_tsv(zf.read(f"balance-{D1.isoformat()}.tsv").decode())
    assert {(r["consumer"], r["quantity"]) for r in rows} == {("PC-1", "1"), ("SRV-1", "4")}
    db = next(r for r in balance if r["product"] == "DB")
    assert (db["required"], db["covered"], db["shortfall"]) == ("4", "4", "0")


def test_the_history_grows_with_changes_not_with_runs(two_days, tenant_a):
    from requirements_engine.history import history_record
    from requirements_engine.services import recompute_now

    with scope(tenant=tenant_a):
        count = RequirementHistory.objects.count()
        # Versions: PC-1 Draw 2022 (closed D2), SRV-1 DB 4 (closed D2), SRV-1 DB 6, PC-3 Draw 2024 = 4.
        assert count == 4
        recompute_now(tenant=tenant_a, as_of=D2)
        recompute_now(tenant=tenant_a, as_of=D2 + dt.timedelta(days=1))
        assert RequirementHistory.objects.count() == count
        assert history_record(tenant=tenant_a, as_of=D2) == {"history_closed": 0, "history_opened": 0}
        closed = RequirementHistory.objects.filter(valid_to=D2)
        assert sorted(closed.values_list("consumer", "quantity")) == [("PC-1", Decimal(1)), ("SRV-1", Decimal(4))]


# --- 4. what changed, per position, with causes ------------------------------------------------------


def test_what_changed_names_each_change_and_its_cause(client, two_days, tenant_a):
    from requirements_engine.selectors_balance import balance_changes

    with scope(tenant=tenant_a):
        result = balance_changes(tenant=tenant_a, day_from=D1, day_to=D2)
    by_position = {(c.product.title, c.product.version, c.license_model): c for c in result["changes"]}
    draw22 = by_position[("Draw", "2022", "Per Device")]
    draw24 = by_position[("Draw", "2024", "Per Device")]
    db = by_position[("DB", "10", "Per Core")]
    # Removed requirement: PC-1's Draw 2022, caused by the deletion (audited).
    (removed,) = draw22.requirements
    assert removed["kind"] == "removed" and removed["state"].consumer == "PC-1"
    assert [e.action for e in removed["causes"]] == ["requirements.requirement.deleted"]
    assert draw22.required == (Decimal(1), Decimal(0)) and not draw22.in_to
    # Changed quantity: SRV-1's DB 4 → 6, caused by the edit; required 4 → 6, shortfall 0 → 6 - 4 = 2.
    (changed,) = db.requirements
    assert changed["kind"] == "changed" and changed["fields"] == ["quantity"]
    assert (changed["before"].quantity, changed["after"].quantity) == (Decimal(4), Decimal(6))
    assert [e.action for e in changed["causes"]] == ["requirements.requirement.updated"]
    assert db.required == (Decimal(4), Decimal(6)) and db.shortfall == (Decimal(0), Decimal(2))
    # Re-allocated license: the Draw 2024 license moved from the 2022 position (downgrade) to its own.
    l1 = two_days["l1"].pk
    away = next(lic for lic in draw22.licenses if lic["entitlement_id"] == l1)
    here = next(lic for lic in draw24.licenses if lic["entitlement_id"] == l1)
    assert away["kind"] == "re-allocated away" and [o["product"].version for o in away["other"]] == ["2024"]
    assert here["kind"] == "re-allocated here" and [o["product"].version for o in here["other"]] == ["2022"]
    # Its cause: the demand moved – PC-1's requirement removed there, PC-3's added here.
    causes = {(r["kind"], r["state"].consumer) for r in here["demand_causes"]}
    assert causes == {("removed", "PC-1"), ("added", "PC-3")}
    (added,) = draw24.requirements
    assert [e.action for e in added["causes"]] == ["requirements.requirement.created"]

    login(client, "a-auditor")
    body = client.get(url("balance-changes") + f"?from={D1.isoformat()}&to={D2.isoformat()}").content.decode()
    assert "4 → 6" in body and "requirements.requirement.deleted" in body and "re-allocated here" in body
    assert reverse("entitlements:edit", kwargs={"tenant": "tenant-a", "pk": l1}) in body
    assert reverse("requirements:detail", kwargs={"tenant": "tenant-a", "pk": two_days["r3"].pk}) in body
    # No position shows "0 → N" because of a missing first day: the page only compares stored days.
    missing = client.get(url("balance-changes") + "?from=2020-01-01").content.decode()
    assert "There is no stored balance of 2020-01-01" in missing


# --- 6. what-if and remediation -------------------------------------------------------------------------


def test_what_if_adds_the_scenario_to_reality_with_deltas(client, two_days, tenant_a):
    from entitlements.models import Repository

    with scope(tenant=tenant_a):
        plan = Repository.objects.create(tenant=tenant_a, name="Plan")
        entitlement(tenant_a, two_days["db"], 2, model="Per Core", repository=plan)
    login(client, "a-license_manager")
    body = client.get(url("balance") + f"?repository={plan.pk}").content.decode()
    assert "the real inventory plus the licenses of “Plan”" in body
    rows = read_tsv(b"".join(client.get(url("balance") + f"?repository={plan.pk}&export=tsv").streaming_content)
                    .decode())
    by = {(r["product"], r["version"]): r for r in rows}
    # Reality + scenario: DB 4 real + 2 planned = 6 covered of 6 required → shortfall 0; Draw 2024 stays covered.
    assert (by[("DB", "10")]["covered"], by[("DB", "10")]["shortfall"]) == ("6", "0")
    assert by[("Draw", "2024")]["covered"] == "1"
    with scope(tenant=tenant_a):
        from requirements_engine.selectors_balance import balance_whatif

        whatif = {r.product.title: r for r in balance_whatif(tenant=tenant_a, as_of=D2, repository=plan)}
        replaced = {r.product.title: r for r in balance_whatif(tenant=tenant_a, as_of=D2, repository=plan,
                                                               mode="replace")}
    # Δ against the real balance (covered 4, shortfall 2): covered +2, shortfall -2.
    assert (whatif["DB"].delta["covered"], whatif["DB"].delta["shortfall"]) == (Decimal(2), Decimal(-2))
    assert whatif["Draw"].delta["covered"] == 0
    # Instead of reality: only the 2 planned cores → covered 2 (Δ -2), shortfall 6 - 2 = 4 (Δ +2).
    assert (replaced["DB"].covered, replaced["DB"].delta["shortfall"]) == (Decimal(2), Decimal(2))
    assert 'data-col="delta-covered">2<' in body


def test_copy_the_default_into_a_scenario(client, two_days, tenant_a):
    from entitlements.models import Entitlement, Repository

    login(client, "a-license_manager")
    response = client.post(url("balance"), {"action": "copy-default", "name": "Copy 1"})
    assert response.status_code == 302
    with scope(tenant=tenant_a):
        copy = Repository.objects.get(name="Copy 1")
        assert Entitlement.objects.filter(repository=copy, status="published").count() == 2
        stored = BalanceRow.objects.count()
    rows = read_tsv(b"".join(client.get(url("balance") + f"?repository={copy.pk}&mode=replace&export=tsv")
                             .streaming_content).decode())
    db = next(r for r in rows if r["product"] == "DB")
    # The copy alone equals reality: covered 4, shortfall 2.
    assert (db["covered"], db["shortfall"]) == ("4", "2")
    with scope(tenant=tenant_a):
        assert BalanceRow.objects.count() == stored


def test_a_shortfall_position_offers_the_cheapest_sku_at_list_price(client, two_days):
    login(client, "a-license_manager")
    body = client.get(url("balance-position-of", product=two_days["db"].pk, model="Per Core")).content.decode()
    # Shortfall 2 cores: 1 × FDB-10E-2C (2 cores) = 9000, cheaper than 2 × FDB-10E-1C = 10000.
    assert "Buy 1 × FDB-10E-2C ≈ 9000.00 EUR" in body
    compliant = client.get(url("balance-position-of", product=two_days["p24"].pk, model="Per Device")).content.decode()
    assert 'id="remediation"' not in compliant


def test_device_and_person_pages_list_requirements_and_allocated_licenses(client, two_days):
    login(client, "a-auditor")
    body = client.get(reverse("inventory:device", kwargs={"tenant": "tenant-a", "pk": two_days["PC-3"].pk})
                      ).content.decode()
    assert 'id="licensing-panel"' in body
    assert reverse("requirements:detail", kwargs={"tenant": "tenant-a", "pk": two_days["r3"].pk}) in body
    assert reverse("entitlements:edit", kwargs={"tenant": "tenant-a", "pk": two_days["l1"].pk}) in body
    assert url("balance-position-of", product=two_days["p24"].pk, model="Per Device") in body


def test_the_requirement_page_links_its_consumer_and_position_and_shows_its_history(client, two_days):
    login(client, "a-auditor")
    body = client.get(reverse("requirements:detail", kwargs={"tenant": "tenant-a", "pk": two_days["rdb"].pk})
                      ).content.decode()
    assert reverse("inventory:device", kwargs={"tenant": "tenant-a", "pk": two_days["srv"].pk}) in body
    assert url("balance-position-of", product=two_days["db"].pk, model="Per Core") in body
    # Two versions: 4 cores from D1 until D2, 6 cores from D2 on.
    history = body[body.index('id="requirement-history"'):]
    assert f"<td>{D2.isoformat()}</td><td>now</td><td class=\"num\">6</td>" in history
    assert f"<td>{D1.isoformat()}</td><td>{D2.isoformat()}</td><td class=\"num\">4</td>" in history


def test_position_and_changes_pages_stay_within_their_query_budgets(client, two_days, django_assert_max_num_queries):
    login(client, "a-auditor")
    position_url = url("balance-position-of", product=two_days["db"].pk, model="Per Core")
    with django_assert_max_num_queries(32):
        assert client.get(position_url).status_code == 200
    # Fixed counts (the catalog facts alone are a dozen), independent of the number of rows.
    with django_assert_max_num_queries(34):
        assert client.get(url("balance-changes") + f"?from={D1.isoformat()}&to={D2.isoformat()}").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(url("balance") + "?as_of=2027-06-30").status_code == 200
