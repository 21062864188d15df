"""A transfer records the entitlements it created as change events, chunk by chunk, and drains once."""
from __future__ import annotations

import pytest
from django_scopes import scope

from entitlements.models import Entitlement
from sam.models import ChangeEvent, ChangeKind
from tests.receiving.conftest import line, receive

pytestmark = pytest.mark.django_db


def test_a_transfer_names_the_entitlements_it_created_and_asks_for_one_drain(org, recomputes,
                                                                            django_capture_on_commit_callbacks):
    lines = [line(po_line=str(n)) for n in range(1, 6)] + [line(po_line="9", sku="NO-SUCH-SKU")]
    with django_capture_on_commit_callbacks(execute=True):
        result = receive(org, lines, chunk_size=2)
    assert (result.transferred, result.waiting) == (5, 1)
    with scope(tenant=org):
        events = list(ChangeEvent.objects.order_by("id"))
        created = sorted(Entitlement.objects.values_list("pk", flat=True))
    # 5 clean lines in chunks of 2 (one chunk also holds the waiting line): one event per chunk
    # that transferred something, together naming the 5 new entitlements.
    assert {e.kind for e in events} == {ChangeKind.ENTITLEMENTS}
    assert sorted(i for e in events for i in e.ids) == created and len(created) == 5
    assert recomputes == ["purchase lines transferred"], "one drain for the whole run"
