"""Allocation of entitlements to requirements and the compliance balance (placeholder)."""
from __future__ import annotations

import datetime as dt

from sam.models import Job, Tenant


def balance_compute(*, tenant: Tenant, as_of: dt.date, job: Job | None = None) -> dict:
    return {"positions": 0}
