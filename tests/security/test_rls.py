"""Row-level security on PostgreSQL (sam/rls.py): a forgotten scope still cannot read another tenant.

The suite connects as the ``postgres`` superuser, whom row-level security never applies to, so
these tests use a plain role (no superuser, no BYPASSRLS), as production must:

* a raw SQL connection logged in as that role sees no tenant row without the setting, only tenant
  A's rows in every tenant table with ``sam.tenant_id`` = A, and cannot write a row of B;
* the application's own doors (the middleware, ``scope()``, ``TenantCommand``, ``bulk_insert``'s
  COPY) work under that role, and an ORM query that skips django-scopes (``_base_manager``) is
  still cut to the scope's tenant by the database.
"""
from __future__ import annotations

import io
import os

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django_scopes import scope, scopes_disabled

from sam import rls
from sam.models import Job, Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.sam.urlwalk import build_row, tenant_models

pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        pytest.skip("row-level security is PostgreSQL's; on SQLite sam/rls.py does nothing")


def _grant(cursor, role: str) -> None:
    cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")


def test_every_tenant_table_has_row_level_security_forced_with_the_tenant_policy(postgres):
    tables = rls.tenant_tables()
    assert len(tables) == len({m._meta.db_table for m in tenant_models()}) > 10
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                       "WHERE relname = ANY(%s) AND relkind = 'r'", [tables])
        flags = {name: (enabled, forced) for name, enabled, forced in cursor.fetchall()}
        cursor.execute("SELECT tablename FROM pg_policies WHERE policyname = %s", [rls.POLICY])
        policed = {row[0] for row in cursor.fetchall()}
    assert flags == {t: (True, True) for t in tables}
    assert policed == set(tables)


@pytest.mark.django_db(transaction=True)
def test_a_raw_query_as_a_plain_role_sees_only_the_tenant_in_the_setting(postgres):
    a, b = TenantFactory(slug="rls-a"), TenantFactory(slug="rls-b")
    for tenant in (a, b):
        cache: dict = {}
        for model in tenant_models():
            build_row(model, tenant, cache=cache)
    tables = rls.tenant_tables()
    role = f"sam_rls_probe_{os.getpid()}"
    settings = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
        _grant(cursor, role)
    try:
        with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                             dbname=settings["NAME"], user=role, autocommit=True) as raw:
            assert raw.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
                               ).fetchone() == (False, False)
            # No setting at all: nothing, in every tenant table.
            for table in tables:
                assert raw.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] == 0, table
            # Tenant A: A's rows only; B's are not there even when asked for by tenant id.
            raw.execute("SELECT set_config('sam.tenant_id', %s, false)", [str(a.pk)])
            for table in tables:
                owners = {r[0] for r in raw.execute(f'SELECT DISTINCT tenant_id FROM "{table}"').fetchall()}
                assert owners == {a.pk}, f"{table}: tenants {owners} visible with sam.tenant_id={a.pk}"
                assert raw.execute(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', [b.pk]
                                   ).fetchone()[0] == 0, table
            # ... and a row of B cannot be written or moved there.
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute("INSERT INTO sam_job (tenant_id, kind, state, progress, message, params, result, "
                            "error, created_at) VALUES (%s, 'x', 'queued', 0, '', '{}', '{}', '', now())", [b.pk])
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute("UPDATE sam_auditevent SET tenant_id = %s", [b.pk])
            # B's rows are not even reachable by a blind UPDATE or DELETE.
            assert raw.execute("DELETE FROM sam_auditevent WHERE tenant_id = %s", [b.pk]).rowcount == 0
            # A value that is not a list of ids is nothing, not an error and not everything.
            raw.execute("SELECT set_config('sam.tenant_id', %s, false)", [f"{a.pk} OR true"])
            assert raw.execute('SELECT count(*) FROM "sam_job"').fetchone()[0] == 0
            # The named unscoped paths ("all") see both.
            raw.execute("SELECT set_config('sam.tenant_id', 'all', false)")
            owners = {r[0] for r in raw.execute('SELECT DISTINCT tenant_id FROM "sam_auditevent"').fetchall()}
            assert owners == {a.pk, b.pk}
            raw.execute("SELECT set_config('sam.tenant_id', %s, false)", [f"{a.pk},{b.pk}"])
            for table in ("entitlements_repository",):
                owners = {r[0] for r in raw.execute(f'SELECT DISTINCT tenant_id FROM "{table}"').fetchall()}
                assert owners == {a.pk, b.pk}
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def test_the_setting_follows_the_scope():
    a, b = TenantFactory.build(pk=3), TenantFactory.build(pk=5)
    assert rls.setting_value() == ""
    with scope(tenant=a):
        assert rls.setting_value() == "3"
        with scopes_disabled():
            assert rls.setting_value() == "all"
        assert rls.setting_value() == "3"
    with scope(tenant=[a, b]):
        assert rls.setting_value() == "3,5"
    with scope(tenant=None):
        assert rls.setting_value() == ""
    assert rls.setting_value() == ""


def test_the_app_works_under_a_plain_role_and_a_forgotten_scope_sees_nothing_foreign(client, postgres):
    a, b = TenantFactory(slug="rls-a"), TenantFactory(slug="rls-b")
    user = UserFactory(username="rls-admin")
    MembershipFactory(user=user, tenant=a, role=Role.ADMIN)
    job_a = Job.objects.create(tenant=a, kind="marker-of-a")
    job_b = Job.objects.create(tenant=b, kind="marker-of-b")
    with connection.cursor() as cursor:
        role = f"sam_rls_app_{os.getpid()}"
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER NOBYPASSRLS")
        _grant(cursor, role)
        cursor.execute(f"SET ROLE {role}")
    try:
        # Outside any scope the database itself returns no tenant row, whatever the ORM asks.
        assert Job._base_manager.count() == 0
        with scope(tenant=a):
            # django-scopes skipped on purpose (_base_manager): the database still cuts it to A.
            assert set(Job._base_manager.values_list("kind", flat=True)) == {"marker-of-a"}
            assert not Job._base_manager.filter(pk=job_b.pk).exists()
            # Writing a row of another tenant fails in the database.
            with pytest.raises(DatabaseError), transaction.atomic():
                Job._base_manager.create(tenant=b, kind="smuggled")
        # The middleware's door: A's job page renders under the plain role, B's id is a 404.
        client.force_login(user)
        assert client.get(f"/t/{a.slug}/jobs/{job_a.pk}/").status_code == 200
        assert client.get(f"/t/{a.slug}/jobs/{job_b.pk}/").status_code == 404
        # The command door (TenantCommand): an export of A under the plain role.
        out = io.StringIO()
        call_command("export_data", "entitlements", tenant=a.slug, stdout=out)
        assert out.getvalue().splitlines()[0].startswith("publisher") or out.getvalue()
        # bulk_insert's COPY path (PostgreSQL refuses COPY FROM under row-level security).
        from sam.bulk import COPY_THRESHOLD, bulk_insert

        with scope(tenant=a):
            jobs = [Job(tenant=a, kind="bulk") for _ in range(COPY_THRESHOLD + 10)]
            bulk_insert(Job, jobs)
            assert Job.objects.filter(kind="bulk").count() == COPY_THRESHOLD + 10
            with pytest.raises(DatabaseError), transaction.atomic():
                bulk_insert(Job, [Job(tenant=b, kind="bulk") for _ in range(COPY_THRESHOLD)])
            # insert_values (receiving's staging of plain values) takes the same guarded COPY path.
            from sam.bulk import insert_values

            ids = insert_values(Job, [{"tenant_id": a.pk, "kind": "values"} for _ in range(COPY_THRESHOLD + 5)])
            assert len(ids) == COPY_THRESHOLD + 5 and Job.objects.filter(kind="values").count() == COPY_THRESHOLD + 5
            with pytest.raises(DatabaseError), transaction.atomic():
                insert_values(Job, [{"tenant_id": b.pk, "kind": "values"} for _ in range(COPY_THRESHOLD)])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
