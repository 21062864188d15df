"""The registry of ``export_data WHAT``: each app registers a function returning header and rows."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules


@dataclass
class ExportData:
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    title: str = "export"


Exporter = Callable[..., ExportData]
EXPORTS: dict[str, Exporter] = {}


def register_export(what: str) -> Callable[[Exporter], Exporter]:
    """``@register_export("balance")`` on ``def f(*, tenant, as_of, params) -> ExportData``."""

    def decorator(func: Exporter) -> Exporter:
        EXPORTS[what] = func
        return func

    return decorator


def load_exports() -> dict[str, Exporter]:
    """Import every installed app's ``exporters`` module so their exports register themselves."""
    autodiscover_modules("exporters")
    return EXPORTS


def export(*, what: str, tenant, as_of: dt.date, params: dict | None = None) -> ExportData:
    exports = load_exports()
    if what not in exports:
        raise KeyError(f"Unknown export {what!r}. Known: {', '.join(sorted(exports))}.")
    return exports[what](tenant=tenant, as_of=as_of, params=params or {})
