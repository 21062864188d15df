"""Row-level security on PostgreSQL: the database itself refuses another tenant's rows.

django-scopes makes an unscoped ORM query raise; this is the second wall, for what the ORM check
cannot see (raw SQL, ``_base_manager``, a reverse relation, a join written by hand). Every table
of a ``sam.models.TenantModel`` gets one policy, installed after every ``migrate`` (a
``post_migrate`` handler that discovers the models, so ``sam`` names no app):

    ALTER TABLE t ENABLE ROW LEVEL SECURITY;  ALTER TABLE t FORCE ROW LEVEL SECURITY;
    CREATE POLICY sam_tenant_isolation ON t USING (<visible>) WITH CHECK (<visible>);

where ``<visible>`` is true when the connection's setting ``sam.tenant_id`` is ``all`` or a
comma-separated list of tenant ids that holds the row's ``tenant_id``. With the setting empty or
unset, no tenant row is visible and none can be written.

Who sets it: a database execute wrapper (installed on every PostgreSQL connection) mirrors the
active django-scopes scope into the setting before each statement, so the three doors that enter
a scope (the middleware, the task wrappers, ``TenantCommand``) set it without further code and
leaving the scope clears it:

* ``scope(tenant=t)`` -> ``"<t.pk>"``; ``scope(tenant=[t1, t2])`` -> ``"<t1.pk>,<t2.pk>"``;
* ``scopes_disabled()`` -> ``"all"``: the named, reviewed unscoped paths (API-token lookup before a
  tenant is known, ``migrate``, the cross-tenant clearing workspace);
* no scope, or ``scope(tenant=None)`` -> ``""``: nothing.

The value is set with ``set_config(..., false)`` on the raw connection only when it differs from
the value last set on that connection; rollbacks (which undo a ``set_config`` made inside the
transaction) forget the remembered value, so it is set again. These statements bypass Django's
query log, so query-count tests are unaffected.

Superusers and roles with ``BYPASSRLS`` are never subject to row-level security; ``FORCE`` makes
the policies apply to the tables' owner too. Production must therefore connect as a role that is
neither (see docs/operations.md); the test suite, connected as the ``postgres`` superuser, is not
filtered, and tests/security/test_rls.py switches to a plain role to prove the policies.
"""
from __future__ import annotations

from django.apps import apps
from django.db import connections
from django.db.backends.signals import connection_created
from django_scopes.state import get_scope

SETTING = "sam.tenant_id"
ALL = "all"
POLICY = "sam_tenant_isolation"

VISIBLE = (
    f"(current_setting('{SETTING}', true) = '{ALL}' OR tenant_id = ANY ("
    f"CASE WHEN current_setting('{SETTING}', true) ~ '^[0-9]+(,[0-9]+)*$' "
    f"THEN string_to_array(current_setting('{SETTING}', true), ',')::bigint[] END))"
)


def tenant_tables() -> list[str]:
    """The database tables of every concrete TenantModel, found through the app registry."""
    from sam.models import TenantModel

    return sorted({m._meta.db_table for m in apps.get_models()
                   if issubclass(m, TenantModel) and m._meta.managed and not m._meta.proxy})


def setting_value() -> str:
    """The value of ``sam.tenant_id`` that matches the active django-scopes scope."""
    state = get_scope()
    if not state:
        return ""
    if not state.get("_enabled", True):
        return ALL
    tenant = state.get("tenant")
    if tenant is None:
        return ""
    values = tenant if isinstance(tenant, (list, tuple, set, frozenset)) else [tenant]
    ids = []
    for value in values:
        pk = getattr(value, "pk", value)
        if pk is None:
            continue
        ids.append(str(int(pk)))
    return ",".join(ids)


def install_policies(*, using: str = "default") -> list[str]:
    """Enable, force and (re)create the tenant policy on every tenant table. Idempotent."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = tenant_tables()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        existing = _existing_tables(cursor)
        for table in tables:
            if table not in existing:
                continue
            t = quote(table)
            cursor.execute(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
            cursor.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")
            cursor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {t}")
            cursor.execute(f"CREATE POLICY {POLICY} ON {t} USING {VISIBLE} WITH CHECK {VISIBLE}")
    return [t for t in tables if t in existing]


def _existing_tables(cursor) -> set[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {row[0] for row in cursor.fetchall()}


def after_migrate(sender, using="default", **kwargs) -> None:
    """``post_migrate`` of the sam app: every app's tables exist by now."""
    install_policies(using=using)


# --- keeping the setting in step with the scope ---------------------------------------------------


def _set(connection, value: str) -> None:
    with connection.wrap_database_errors, connection.connection.cursor() as raw:
        # the driver's own cursor: not logged (query counts stay as they are), not wrapped again
        raw.execute("SELECT set_config(%s, %s, false)", [SETTING, value])
    connection.sam_rls_value = value


_TRANSACTION_CONTROL = {"ROLL", "SAVE", "RELE", "COMM"}  # may run in an aborted transaction


def _execute_wrapper(execute, sql, params, many, context):
    connection = context["connection"]
    wanted = setting_value()
    if getattr(connection, "sam_rls_value", None) != wanted and not (
            isinstance(sql, str) and sql[:4] in _TRANSACTION_CONTROL):
        _set(connection, wanted)
    return execute(sql, params, many, context)


def _forget_on_rollback(connection) -> None:
    """A rollback undoes a set_config made inside the transaction: set it again next time."""
    if getattr(connection, "_sam_rls_patched", False):
        return
    rollback, savepoint_rollback = connection._rollback, connection._savepoint_rollback

    def _rollback():
        try:
            return rollback()
        finally:
            connection.sam_rls_value = None

    def _savepoint_rollback(sid):
        try:
            return savepoint_rollback(sid)
        finally:
            connection.sam_rls_value = None

    connection._rollback = _rollback
    connection._savepoint_rollback = _savepoint_rollback
    connection._sam_rls_patched = True


def on_connection_created(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    connection.sam_rls_value = None  # a new session starts with the setting unset
    _forget_on_rollback(connection)
    if _execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(_execute_wrapper)


def connect_signals() -> None:
    connection_created.connect(on_connection_created, dispatch_uid="sam.rls.connection_created")
