"""The engine drains the core's outbox: one job per drain, the minimal delta, nothing lost on failure."""
from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django_scopes import scope

from requirements_engine.services import RECOMPUTE, drain_pending, recompute_now
from requirements_engine.tasks import drain_pending_changes
from sam.changes import change_record, changes_record, drain_handler
from sam.models import ChangeEvent, ChangeKind, ChangeState, Job, JobState
from tests.requirements_engine.factories import DeviceFactory, PersonFactory

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 6, 15)


@pytest.fixture
def runs(monkeypatch):
    """The ``changed`` argument of every engine run, the engine itself still running."""
    import requirements_engine.services as services

    seen: list = []
    real = services.recompute_tenant

    def recording(*, tenant, as_of, job=None, changed=None):
        seen.append(changed)
        return real(tenant=tenant, as_of=as_of, job=job, changed=changed)

    monkeypatch.setattr(services, "recompute_tenant", recording)
    return seen


def test_the_engine_registers_its_drain_with_the_core():
    from requirements_engine.services import drain_request

    assert drain_handler() is drain_request


def test_events_of_one_commit_become_one_run_with_the_merged_delta(in_tenant_a, runs,
                                                                   django_capture_on_commit_callbacks):
    pc, server = DeviceFactory(tenant=in_tenant_a), DeviceFactory(tenant=in_tenant_a)
    ann = PersonFactory(tenant=in_tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        changes_record(tenant=in_tenant_a, changed={"devices": [server.pk, pc.pk]}, reason="import installations",
                       as_of=AS_OF)
        change_record(tenant=in_tenant_a, kind=ChangeKind.PERSONS, ids=[ann.pk], reason="import persons")
    assert runs == [{"devices": sorted([pc.pk, server.pk]), "persons": [ann.pk]}]
    job = Job.objects.get(kind=RECOMPUTE)
    assert job.state == JobState.DONE
    assert job.params["changed"] == {"devices": sorted([pc.pk, server.pk]), "persons": [ann.pk]}
    assert job.params["as_of"] == AS_OF.isoformat()
    assert set(job.params["reasons"]) == {"import installations", "import persons"}
    assert job.result["events"] == 2 and job.result["run"]["from"] <= job.result["run"]["to"]
    assert set(ChangeEvent.objects.values_list("state", "job_id")) == {(ChangeState.DONE, job.pk)}


def test_a_full_change_absorbs_the_deltas_recorded_with_it(in_tenant_a, runs, django_capture_on_commit_callbacks):
    device = DeviceFactory(tenant=in_tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[device.pk], reason="import devices")
        change_record(tenant=in_tenant_a, kind=ChangeKind.FULL, reason="tenant settings changed")
    assert runs == [None]


def test_a_failed_run_leaves_its_events_pending_and_the_next_drain_applies_them(in_tenant_a, monkeypatch):
    import requirements_engine.services as services

    device = DeviceFactory(tenant=in_tenant_a)
    real = services.recompute_tenant

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "recompute_tenant", broken)
    change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[device.pk], reason="edit", drain=False)
    with pytest.raises(RuntimeError):
        drain_pending(tenant=in_tenant_a)
    failed = Job.objects.get(kind=RECOMPUTE)
    assert failed.state == JobState.FAILED and "database went away" in failed.error
    assert ChangeEvent.objects.get().state == ChangeState.PENDING

    monkeypatch.setattr(services, "recompute_tenant", real)
    assert drain_pending_changes() == 1  # the periodic task finds the tenant with pending changes
    done = Job.objects.exclude(pk=failed.pk).get(kind=RECOMPUTE)
    assert done.state == JobState.DONE and done.params["changed"] == {"devices": [device.pk]}
    assert ChangeEvent.objects.get().state == ChangeState.DONE
    assert drain_pending_changes() == 0


def test_a_drain_with_nothing_pending_finishes_without_running_the_engine(in_tenant_a, runs):
    job = drain_pending(tenant=in_tenant_a)
    job.refresh_from_db()
    assert runs == [] and job.state == JobState.DONE and job.message == "Nothing to apply"


def test_the_recompute_command_runs_full_and_takes_every_pending_change(in_tenant_a, runs, capsys):
    device = DeviceFactory(tenant=in_tenant_a)
    change_record(tenant=in_tenant_a, kind=ChangeKind.DEVICES, ids=[device.pk], reason="recorded while down",
                  drain=False)
    call_command("recompute", "--tenant", in_tenant_a.slug, "--as-of", AS_OF.isoformat())
    assert runs == [None]
    assert ChangeEvent.objects.get().state == ChangeState.DONE
    job = Job.objects.get(kind=RECOMPUTE)
    assert job.params["full"] is True and job.params["as_of"] == AS_OF.isoformat()
    assert f"recompute {in_tenant_a.slug}:" in capsys.readouterr().out


def test_recompute_now_on_another_tenant_leaves_these_events_alone(tenant_a, tenant_b, runs):
    with scope(tenant=tenant_a):
        change_record(tenant=tenant_a, kind=ChangeKind.FULL, reason="a", drain=False)
    with scope(tenant=tenant_b):
        recompute_now(tenant=tenant_b, as_of=AS_OF)
    with scope(tenant=tenant_a):
        assert ChangeEvent.objects.get().state == ChangeState.PENDING
