"""``export_data requirements``: one row per license requirement, with its foundations.

The balance export lives in ``exporters_balance`` (the balance's part of the app) and registers
itself when imported at the bottom of this module.
"""
from __future__ import annotations

import datetime as dt

from requirements_engine.exporters_balance import requirement_history_export_rows
from requirements_engine.selectors_requirements import EXPORT_HEADER, requirement_export_rows
from sam.exporting import ExportData, register_export
from sam.models import Tenant


@register_export("requirements")
def export_requirements(*, tenant: Tenant, as_of: dt.date, params: dict) -> ExportData:
    """The requirements of ``as_of``: from the requirement history for a day before the last engine
    day it recorded (what that day's balance was built from), else as stored now."""
    from requirements_engine.history import history_applies

    if history_applies(tenant=tenant, as_of=as_of):
        rows = list(requirement_history_export_rows(tenant=tenant, as_of=as_of))
    else:
        rows = list(requirement_export_rows(tenant=tenant))
    return ExportData(header=EXPORT_HEADER, rows=rows, title="requirements")


try:
    from requirements_engine import exporters_balance  # noqa: F401,E402 - registers "balance"
except ModuleNotFoundError as exc:  # pragma: no cover - until the balance export lands
    if exc.name != "requirements_engine.exporters_balance":
        raise
