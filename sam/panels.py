"""Detail panels: apps add a section to another app's detail page without being imported by it.

An app registers ``panel_register("device", func)`` in its ``AppConfig.ready()``; the page's
template says ``{% load sam_panels %}{% detail_panels "device" device %}``. ``func(*, obj, tenant,
membership)`` returns ``(template name, context)`` or ``None`` (nothing to show, or no permission).
The inventory's device and person pages use it for the requirements and licenses the engine
derived, so inventory never imports the engine.

Kinds in use: ``device`` (obj: inventory.Device), ``person`` (obj: inventory.Person).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

Panel = Callable[..., tuple[str, dict[str, Any]] | None]

_PANELS: dict[str, list[tuple[int, str, Panel]]] = {}


def panel_register(kind: str, func: Panel, *, order: int = 100) -> None:
    """Register a panel for detail pages of ``kind``; registering the same function twice is a no-op."""
    key = f"{func.__module__}.{func.__qualname__}"
    entries = _PANELS.setdefault(kind, [])
    if any(k == key for _o, k, _f in entries):
        return
    entries.append((order, key, func))
    entries.sort(key=lambda e: (e[0], e[1]))


def panels_for(kind: str, *, obj: Any, tenant: Any, membership: Any) -> list[tuple[str, dict[str, Any]]]:
    """The (template, context) of every registered panel that has something to show."""
    out = []
    for _order, _key, func in _PANELS.get(kind, []):
        got = func(obj=obj, tenant=tenant, membership=membership)
        if got:
            out.append(got)
    return out
