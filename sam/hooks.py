"""Named hooks: how apps plug behaviour into the core (and into each other) without being imported.

An app registers its functions in its ``AppConfig.ready()``; the core (or a lower app) runs every
function registered for a name, in order, and never names the app. The names in use:

============================  =========================================================================
``tenant.created``            ``(tenant)``: set up a new tenant (entitlements: the Default repository)
``import.finished``           ``(kind, tenant, actor, result)``: after a tenant import changed rows
                              (receiving: revalidate the queue after catalog, persons, cost centers,
                              contracts)
``dashboard.panels``          ``(tenant, membership) -> {"kpis": [...], "blocks": [...]}``
``demo.seed_master``          ``(log)``: master data of the demo, in layer order
``demo.seed``                 ``(tenant, devices, log)``: a tenant's demo data, in layer order
``recognition.rules_changed`` ``(tenant) -> int``: fingerprint rules changed (tenant ``None``: master);
                              inventory re-classifies the fingerprints and returns how many changed
============================  =========================================================================
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

_HOOKS: dict[str, list[tuple[int, str, Callable[..., Any]]]] = {}


def hook_register(name: str, func: Callable[..., Any], *, order: int = 100) -> None:
    """Register ``func`` under ``name`` (lower ``order`` runs first); registering it twice is a no-op."""
    key = f"{func.__module__}.{func.__qualname__}"
    entries = _HOOKS.setdefault(name, [])
    if any(k == key for _o, k, _f in entries):
        return
    entries.append((order, key, func))
    entries.sort(key=lambda e: (e[0], e[1]))


def hook_functions(name: str) -> list[Callable[..., Any]]:
    return [func for _order, _key, func in _HOOKS.get(name, [])]


def hook_run(name: str, **kwargs: Any) -> list[Any]:
    """Call every function registered for ``name`` with ``kwargs``; their results in order."""
    return [func(**kwargs) for func in hook_functions(name)]
