"""An installations import recomputes only the devices whose installations changed, and the result
equals a full recompute."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django_scopes import scope

from inventory.models import Device
from requirements_engine.models import Requirement
from requirements_engine.services import RECOMPUTE, merge_changed, recompute_now
from sam.importing import import_file
from sam.models import Job

ESTATE = Path(__file__).resolve().parents[2].parent / "shared" / "acceptance" / "estate-demo"
AS_OF = dt.date(2026, 6, 15)
pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not ESTATE.exists(), reason="the shared acceptance estate is not beside the checkout")]


def _requirements() -> set[tuple]:
    return set(Requirement.objects.values_list("device__name", "person__username", "product__title",
                                               "product__version", "quantity", "is_secondary", "error"))


def test_merging_deltas_and_a_full_request_absorbs_them():
    assert merge_changed({"devices": [1, 2]}, {"devices": [2, 3], "persons": [7]}) == {
        "devices": [1, 2, 3], "persons": [7]}
    assert merge_changed({"devices": [1]}, None) is None
    assert merge_changed(None, {"devices": [1]}) is None


def test_an_installations_import_recomputes_just_the_changed_device(tenant_a, tmp_path,
                                                                    django_capture_on_commit_callbacks):
    with scope(tenant=tenant_a):
        for kind in ("license_models", "processors", "catalog", "editions", "fingerprints", "group_assignments",
                     "cost_centers", "persons", "devices", "installations", "group_memberships"):
            # Each import's change event is drained after its commit (here: the captured callbacks).
            with django_capture_on_commit_callbacks(execute=True):
                import_file(kind=kind, source=ESTATE / f"{kind}.csv", tenant=tenant_a, as_of=AS_OF)
        # PC-1 also gets the 2024 edition; the other devices are listed unchanged.
        changed = tmp_path / "installations.csv"
        changed.write_text((ESTATE / "installations.csv").read_text(encoding="utf-8")
                           + "PC-1,Contoso Ltd,Contoso Draw 2024 Pro,24.0.3,2026-06-10\n", encoding="utf-8")
        before = Job.objects.filter(kind=RECOMPUTE).count()
        with django_capture_on_commit_callbacks(execute=True):
            import_file(kind="installations", source=changed, tenant=tenant_a, as_of=AS_OF)

        job = Job.objects.filter(kind=RECOMPUTE).order_by("-pk").first()
        assert Job.objects.filter(kind=RECOMPUTE).count() == before + 1
        assert job.params["changed"] == {"devices": [Device.objects.get(name="PC-1").pk]}
        incremental = _requirements()
        assert ("PC-1", None, "Draw", "2024") in {r[:4] for r in incremental}

        recompute_now(tenant=tenant_a, as_of=AS_OF)
        assert _requirements() == incremental
