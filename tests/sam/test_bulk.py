"""bulk_insert writes exactly what bulk_create would, with primary keys set (COPY path on PostgreSQL)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django_scopes import scope

from entitlements.models import Entitlement, Repository
from sam.bulk import COPY_THRESHOLD, bulk_insert
from sam.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_large_sets_round_trip_with_ids_json_decimals_and_dates(tenant_a):
    n = COPY_THRESHOLD + 20  # above the threshold: COPY on PostgreSQL
    with scope(tenant=tenant_a):
        repo = Repository.objects.get(is_default=True)
        events = [AuditEvent(tenant=tenant_a, action="test.bulk", object_id=str(i),
                             after={"i": i, "text": "tab\there, quote \" and \\ back", "none": None})
                  for i in range(n)]
        bulk_insert(AuditEvent, events)
        assert all(e.pk for e in events) and len({e.pk for e in events}) == n
        stored = AuditEvent.objects.get(pk=events[7].pk)
        assert stored.after == {"i": 7, "text": "tab\there, quote \" and \\ back", "none": None}
        assert stored.at is not None and stored.object_id == "7"

        ents = [Entitlement(tenant=tenant_a, repository=repo, quantity=Decimal("2.5"), units=Decimal(2),
                            start_date=dt.date(2026, 1, 31), errors=["quantity.missing"] if i % 2 else [])
                for i in range(n)]
        bulk_insert(Entitlement, ents)
        got = Entitlement.objects.get(pk=ents[1].pk)
        assert got.quantity == Decimal("2.5") and got.start_date == dt.date(2026, 1, 31)
        assert got.errors == ["quantity.missing"] and got.created_at is not None
        assert Entitlement.objects.filter(errors=[]).count() == (n + 1) // 2
    # The sequence moved past the ids taken: an ordinary insert still works.
    with scope(tenant=tenant_a):
        later = AuditEvent.objects.create(tenant=tenant_a, action="test.after")
        assert later.pk > max(e.pk for e in events)
    assert connection.vendor in ("postgresql", "sqlite")
