"""The recompute pipeline: foundations → requirements → consolidation → allocation → balance.

(Placeholder until the engine lands: it only reports that nothing was computed.)
"""
from __future__ import annotations

import datetime as dt

from sam.models import Job, Tenant


def recompute_tenant(*, tenant: Tenant, as_of: dt.date, job: Job | None = None) -> dict:
    return {"as_of": as_of.isoformat(), "requirements": 0}
