"""The ``receiving`` export: one row per purchase line with its values as received, status and reasons."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from receiving.models import PurchaseLine
from receiving.validation import CANONICAL
from sam.exporting import ExportData, register_export

HEADER = (*CANONICAL, "status", "reasons", "warnings", "batch", "row", "received_at", "rejection_note")


def _rows(qs) -> Iterator[list[Any]]:
    fields = ("raw", "status", "reason_codes", "warnings", "batch_id", "row_number", "received_at", "rejection_note")
    for raw, status, codes, warnings, batch_id, row_number, received_at, note in qs.values_list(*fields).iterator(2000):
        raw = raw or {}
        yield [*(raw.get(c, "") for c in CANONICAL), status, codes.strip(","),
               ",".join(w.get("code", "") for w in warnings or []), batch_id, row_number,
               received_at.date() if received_at else "", note]


@register_export("receiving")
def export_receiving(*, tenant, as_of: dt.date, params: dict) -> ExportData:
    """Every purchase line (filter with params ``status`` and ``batch``); raw values, never the corrections."""
    qs = PurchaseLine.objects.order_by("id")
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    if params.get("batch"):
        qs = qs.filter(batch_id=params["batch"])
    return ExportData(header=HEADER, rows=_rows(qs), title="receiving")


QUEUE_HEADER = ("tenant", "line", *CANONICAL, "status", "reasons", "messages", "assigned_to", "batch", "row",
                "received_at")


def queue_rows(qs) -> Iterator[list[Any]]:
    """Rows of the clearing queue's export: the current (corrected) values and the reasons, as the clerk
    sees them, for the filtered lines only (``qs`` selects ``tenant`` and ``assigned_to``)."""
    for line in qs.order_by("id").iterator(2000):
        values = line.values or {}
        yield [line.tenant.slug, line.pk, *(values.get(c, "") for c in CANONICAL), line.status,
               line.reason_codes.strip(","), "; ".join(r.get("message", "") for r in line.reasons or []),
               line.assigned_to.username if line.assigned_to_id else "", line.batch_id, line.row_number,
               line.received_at.date() if line.received_at else ""]
