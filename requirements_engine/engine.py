"""The recompute pipeline: foundations → requirements → consolidation → allocation → balance.

(Placeholder until the engine lands.)
"""
from __future__ import annotations

import datetime as dt

from sam.models import Job, Tenant


def recompute_tenant(*, tenant: Tenant, as_of: dt.date, job: Job | None = None) -> dict:
    from requirements_engine.balance import balance_compute

    return {"as_of": as_of.isoformat(), "requirements": 0, **balance_compute(tenant=tenant, as_of=as_of, job=job)}
