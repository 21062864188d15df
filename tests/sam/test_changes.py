"""The change-event port of the core: what a service records, how events merge, and who claims them."""
from __future__ import annotations

import pytest
from django.db import transaction
from django_scopes import scope

from sam.changes import (
    change_record,
    changes_claim,
    changes_done,
    changes_merge,
    changes_pending_tenant_ids,
    changes_record,
    changes_release,
)
from sam.hooks import _HOOKS, hook_register, hook_run
from sam.jobs import job_create
from sam.models import ChangeEvent, ChangeKind, ChangeState
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drains(monkeypatch):
    """The drain handler the engine would register, replaced by a list of the requests it gets."""
    calls: list[tuple[str, str]] = []

    def handler(*, tenant, reason="", actor=None, as_of=None):
        calls.append((tenant.slug, reason))

    monkeypatch.setattr("sam.changes._drain_handler", handler)
    return calls


def test_a_change_names_its_ids_once_sorted_and_an_empty_delta_records_nothing(in_tenant_a, drains):
    event = change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[5, "3", 5], reason="import devices")
    assert (event.kind, event.ids, event.state) == ("devices", [3, 5], ChangeState.PENDING)
    assert change_record(tenant=in_tenant_a, kind=ChangeKind.PERSONS, ids=[], reason="nothing") is None
    full = change_record(tenant=in_tenant_a, kind=ChangeKind.FULL, ids=[1], reason="settings")
    assert full.ids == []
    pairs = change_record(tenant=in_tenant_a, kind=ChangeKind.POSITIONS, ids=[(7, "Per Core"), (7, "Per Core"),
                                                                              (2, "Device")])
    assert pairs.ids == [[2, "Device"], [7, "Per Core"]]
    with pytest.raises(ValueError):
        change_record(tenant=in_tenant_a, kind="everything", ids=[1])
    assert ChangeEvent.objects.count() == 3


def test_the_event_commits_with_the_change_or_not_at_all(in_tenant_a, drains):
    with pytest.raises(RuntimeError), transaction.atomic():
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[1], reason="rolled back")
        raise RuntimeError("the service failed after recording")
    assert not ChangeEvent.objects.exists()


def test_the_drain_is_asked_after_the_commit_once_per_tenant_with_pending_events(
        in_tenant_a, drains, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[1], reason="a")
        changes_record(tenant=in_tenant_a, changed={"devices": [2], "persons": [3]}, reason="b")
        assert drains == [], "nothing is drained before the commit"
    assert len(callbacks) == 2  # one per recording call, not one per event
    for callback in callbacks:
        callback()
    assert drains == [("tenant-a", "a"), ("tenant-a", "b")]
    ChangeEvent.objects.update(state=ChangeState.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[9], reason="c", drain=False)
    assert len(drains) == 2, "drain=False only records"


def test_merging_takes_the_union_per_kind_and_a_full_change_absorbs_every_delta(in_tenant_a, drains):
    events = [
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[1, 2]),
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[2, 3]),
        change_record(tenant=in_tenant_a, kind=ChangeKind.ENTITLEMENTS, ids=[40]),
        change_record(tenant=in_tenant_a, kind=ChangeKind.POSITIONS, ids=[(7, "Per Core")]),
        change_record(tenant=in_tenant_a, kind=ChangeKind.POSITIONS, ids=[(7, "Per Core"), (8, "Device")]),
    ]
    assert changes_merge(events) == {"devices": [1, 2, 3], "entitlements": [40],
                                     "positions": [[7, "Per Core"], [8, "Device"]]}
    events.append(change_record(tenant=in_tenant_a, kind=ChangeKind.FULL, reason="catalog rule"))
    assert changes_merge(events) is None
    assert changes_merge([]) == {}


def test_a_claim_takes_each_pending_event_once_and_a_failed_run_hands_them_back(tenant_a, tenant_b, drains):
    with scope(tenant=tenant_b):
        change_record(tenant=tenant_b, kind=ChangeKind.DEVICES, ids=[1])
    with scope(tenant=tenant_a):
        change_record(tenant=tenant_a, kind=ChangeKind.DEVICES, ids=[1])
        change_record(tenant=tenant_a, kind=ChangeKind.PERSONS, ids=[2])
        run1, run2, run3 = (job_create(tenant=tenant_a, kind="recompute").pk for _ in range(3))
        first = changes_claim(tenant=tenant_a, job_id=run1)
        assert [e.kind for e in first] == ["devices", "persons"]
        assert changes_claim(tenant=tenant_a, job_id=run2) == [], "a second run finds nothing left"
        assert changes_release(tenant=tenant_a, job_id=run1) == 2
        again = changes_claim(tenant=tenant_a, job_id=run3)
        assert len(again) == 2
        assert changes_done(tenant=tenant_a, job_id=run3) == 2
        assert set(ChangeEvent.objects.values_list("state", flat=True)) == {ChangeState.DONE}
    with scope(tenant=tenant_b):
        assert ChangeEvent.objects.get().state == ChangeState.PENDING, "another tenant's events are not taken"
    assert changes_pending_tenant_ids() == [tenant_b.pk]


def test_hooks_run_in_order_and_register_once(monkeypatch):
    monkeypatch.setitem(_HOOKS, "test.hook", [])
    seen: list[str] = []

    def late(*, value):
        seen.append(f"late {value}")
        return 2

    def early(*, value):
        seen.append(f"early {value}")
        return 1

    hook_register("test.hook", late, order=50)
    hook_register("test.hook", early, order=10)
    hook_register("test.hook", early, order=10)
    assert hook_run("test.hook", value="x") == [1, 2]
    assert seen == ["early x", "late x"]
    assert hook_run("test.nobody", value="x") == []


def test_a_new_tenant_gets_its_default_repository_through_the_registered_hook(db):
    from entitlements.models import Repository
    from sam.services import tenant_create

    tenant, created = tenant_create(slug="hooked", name="Hooked")
    assert created
    with scope(tenant=tenant):
        assert list(Repository.objects.values_list("name", "is_default")) == [("Default", True)]
    tenant_create(slug="hooked")
    with scope(tenant=tenant):
        assert Repository.objects.count() == 1


def test_the_outbox_is_scoped_like_every_tenant_table():
    tenant = TenantFactory()
    with pytest.raises(Exception):  # noqa: B017 - django-scopes raises its own ScopeError
        ChangeEvent.objects.filter(tenant=tenant).exists()
