"""What receiving plugs into the core (registered in ``receiving.apps``)."""
from __future__ import annotations

from typing import Any

from receiving.services import receiving_revalidate
from sam.models import Tenant

#: Import kinds whose rows the receiving validation reads: new SKUs, aliases, persons, cost centers
#: or contracts can clear lines waiting in the queue.
REVALIDATES_RECEIVING = frozenset({"catalog", "persons", "cost_centers", "contracts"})


def revalidate_after_import(*, kind: str, tenant: Tenant, actor: Any, result: Any) -> None:
    """The ``import.finished`` hook: revalidate the queue after an import of data it reads."""
    if kind in REVALIDATES_RECEIVING:
        receiving_revalidate(tenant=tenant, actor=actor)
