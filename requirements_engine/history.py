"""History of requirements: temporal rows, so a past day's requirements can be read back.

Design (see docs/compliance.md): one ``RequirementHistory`` row per *version* of a requirement,
keyed by (consumer_key, product), valid on the engine days ``valid_from ≤ day < valid_to``.
``history_record`` runs once at the end of every engine run and is set-based – the current
values are copied once into a temporary table, then a few SQL statements whatever the number of
requirements, no Python per row, all in one transaction:

1. close the open rows whose requirement is gone or differs from the stored requirement now
   (``valid_to`` = the run's as-of day);
2. open a row for every requirement that has no open row left (new or changed; the unchanged ones
   are first struck from the temporary copy, so the insert never reads the table it fills);
3. drop rows that were opened and closed on the same day (never the state at the end of a day).

Storage therefore grows with changes, not with days: an estate that does not change adds nothing.
Days are the engine's as-of days (the same days the balance snapshots carry).
"""
from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet

from sam.models import Tenant

#: The columns copied from a requirement and compared to detect a change (beside the key).
_VALUES = ("requirement_id_ref", "consumer_type", "consumer", "device_id_ref", "person_id_ref", "license_model",
           "quantity", "confirmation", "effective", "is_secondary", "manual", "error", "expression",
           "expression_values", "core_factor", "note", "foundations", "carried_by")


def _tables() -> dict[str, str]:
    from inventory.models import Device, Person
    from requirements_engine.models import Foundation, Requirement, RequirementHistory

    return {"h": RequirementHistory._meta.db_table, "r": Requirement._meta.db_table,
            "f": Foundation._meta.db_table, "link": Requirement.consolidated_into.through._meta.db_table,
            "d": Device._meta.db_table, "p": Person._meta.db_table}


def _grouped(key: str, value: str, source: str, sep: str) -> str:
    """``SELECT key, <sorted values joined by sep> AS v ... GROUP BY key`` on PostgreSQL and SQLite."""
    if connection.vendor == "postgresql":
        return f"SELECT {key} AS k, string_agg({value}, {sep} ORDER BY {value}) AS v {source} GROUP BY {key}"
    return (f"SELECT k, group_concat(v, {sep}) AS v FROM (SELECT {key} AS k, {value} AS v {source} ORDER BY 1, 2) "
            "GROUP BY k")


def _current_sql(t: dict[str, str]) -> str:
    """The requirements of one tenant as history values (three ``%s`` = the tenant id).

    Joins, not correlated subqueries: the foundations and the consolidation are aggregated once
    per tenant and hash-joined, so the cost stays linear in the number of requirements.
    """
    pg = connection.vendor == "postgresql"
    tab, newline = ("E'\\t'", "E'\\n'") if pg else ("char(9)", "char(10)")
    foundations = _grouped("f.requirement_id", f"f.kind || {tab} || f.source",
                           f"FROM {t['f']} f WHERE f.tenant_id = %s", newline)
    carried = _grouped("l.from_requirement_id", "COALESCE(d2.name, p2.username, '')",
                       f"FROM {t['link']} l JOIN {t['r']} r2 ON r2.id = l.to_requirement_id "
                       f"LEFT JOIN {t['d']} d2 ON d2.id = r2.device_id LEFT JOIN {t['p']} p2 ON p2.id = r2.person_id "
                       "WHERE r2.tenant_id = %s", "'; '")
    return (
        "SELECT r.consumer_key, r.product_id, r.id AS requirement_id_ref, r.consumer_type, "
        "COALESCE(d.name, p.username, '') AS consumer, r.device_id AS device_id_ref, r.person_id AS person_id_ref, "
        "r.license_model, r.quantity, r.confirmation, r.effective, r.is_secondary, r.manual, r.error, "
        "r.expression, r.expression_values, r.core_factor, r.note, "
        "COALESCE(fo.v, '') AS foundations, COALESCE(ca.v, '') AS carried_by "
        f"FROM {t['r']} r LEFT JOIN {t['d']} d ON d.id = r.device_id LEFT JOIN {t['p']} p ON p.id = r.person_id "
        f"LEFT JOIN ({foundations}) fo ON fo.k = r.id LEFT JOIN ({carried}) ca ON ca.k = r.id "
        "WHERE r.tenant_id = %s"
    )


def _same(left: str, right: str) -> str:
    """SQL: every history value of ``left`` equals ``right``'s (NULL-safe where a column may be NULL)."""
    nullable = {"device_id_ref", "person_id_ref", "core_factor"}
    parts = []
    for col in _VALUES:
        if col in nullable:
            parts.append(f"COALESCE({left}.{col}, -1) = COALESCE({right}.{col}, -1)")
        elif col == "expression_values" and connection.vendor == "postgresql":
            parts.append(f"{left}.{col}::jsonb = {right}.{col}::jsonb")
        else:
            parts.append(f"{left}.{col} = {right}.{col}")
    return " AND ".join(parts)


_CURRENT = "sam_requirement_history_now"


def history_record(*, tenant: Tenant, as_of: dt.date) -> dict[str, int]:
    """Record the tenant's requirements as of ``as_of`` in the history (set-based, one transaction).

    Called once at the end of every engine run (``engine.recompute_tenant``). The requirements'
    values are copied once into a temporary table; then a few statements close, open and tidy
    the versions. Returns how many versions were closed and opened. Idempotent: a second call with
    nothing changed writes nothing.
    """
    t = _tables()
    cols = ", ".join(_VALUES)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {_CURRENT}")
        cur.execute(f"CREATE TEMPORARY TABLE {_CURRENT} AS {_current_sql(t)}", [tenant.pk, tenant.pk, tenant.pk])
        cur.execute(f"CREATE INDEX {_CURRENT}_key ON {_CURRENT} (consumer_key, product_id)")
        cur.execute(f"ANALYZE {_CURRENT}")
        # 1. Close what is gone or changed. A run for an earlier day than the row's start closes it
        #    on its own start day (a zero-length row, dropped below) instead of before it began.
        cur.execute(
            f"UPDATE {t['h']} SET valid_to = CASE WHEN valid_from > %s THEN valid_from ELSE %s END "
            f"WHERE tenant_id = %s AND valid_to IS NULL AND NOT EXISTS ("
            f"SELECT 1 FROM {_CURRENT} c WHERE c.consumer_key = {t['h']}.consumer_key "
            f"AND c.product_id = {t['h']}.product_id AND {_same('c', t['h'])})",
            [as_of, as_of, tenant.pk])
        closed = cur.rowcount
        # 2. Open a version for every requirement without an open row (new, or closed just now).
        #    The unchanged ones are struck from the copy first: an INSERT that anti-joins the table it
        #    fills may scan its own new (invisible) rows again for every row – quadratic.
        cur.execute(
            f"DELETE FROM {_CURRENT} WHERE EXISTS (SELECT 1 FROM {t['h']} h WHERE h.tenant_id = %s "
            f"AND h.valid_to IS NULL AND h.consumer_key = {_CURRENT}.consumer_key "
            f"AND h.product_id = {_CURRENT}.product_id)", [tenant.pk])
        cur.execute(
            f"INSERT INTO {t['h']} (tenant_id, consumer_key, product_id, {cols}, valid_from, valid_to) "
            f"SELECT %s, c.consumer_key, c.product_id, {', '.join('c.' + c for c in _VALUES)}, %s, NULL "
            f"FROM {_CURRENT} c", [tenant.pk, as_of])
        opened = cur.rowcount
        # 3. A version opened and closed on the same day was never the state at the end of a day.
        cur.execute(f"DELETE FROM {t['h']} WHERE tenant_id = %s AND valid_to >= %s AND valid_to = valid_from",
                    [tenant.pk, as_of])
        cur.execute(f"DROP TABLE {_CURRENT}")
    return {"history_closed": closed, "history_opened": opened}


def history_last_day(*, tenant: Tenant) -> dt.date | None:
    """The latest engine day the history knows (a version opened or closed on it); None without history."""
    from requirements_engine.models import RequirementHistory

    got = RequirementHistory.objects.filter(tenant=tenant).aggregate(opened=Max("valid_from"), closed=Max("valid_to"))
    days = [d for d in (got["opened"], got["closed"]) if d is not None]
    return max(days) if days else None


def history_on(*, tenant: Tenant, as_of: dt.date) -> QuerySet:
    """The versions of requirements valid on ``as_of`` (``valid_from ≤ as_of < valid_to``)."""
    from requirements_engine.models import RequirementHistory

    return (RequirementHistory.objects.filter(tenant=tenant, valid_from__lte=as_of)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=as_of)))


def history_applies(*, tenant: Tenant, as_of: dt.date) -> bool:
    """Whether ``as_of`` must be read from the history: it lies before the last day the history recorded.

    On or after that day the stored requirements are that day's (and any edit made since); so are
    they for a day before the history began.
    """
    from requirements_engine.models import RequirementHistory

    last = history_last_day(tenant=tenant)
    if last is None or as_of >= last:
        return False
    # A day before the history began (no version started on or before it) has nothing recorded:
    # the stored requirements are the best available (and what exports gave before the history).
    return RequirementHistory.objects.filter(tenant=tenant, valid_from__lte=as_of).exists()
