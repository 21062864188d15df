"""Roles and the permissions each one holds. Views name a permission; roles grant them."""
from __future__ import annotations

from sam.models import Role

# Read permissions.
VIEW = {
    "dashboard.view", "catalog.view", "inventory.view", "entitlements.view", "receiving.view",
    "requirements.view", "balance.view", "jobs.view", "export",
}
ALL = VIEW | {
    "audit.view", "members.manage", "settings.manage", "imports.run", "catalog.change",
    "entitlements.change", "receiving.change", "requirements.change", "requirements.confirm",
    "reconciliation.change", "api.manage", "inventory.change", "receiving.upload",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(ALL),
    Role.LICENSE_MANAGER: frozenset(
        VIEW | {"audit.view", "catalog.change", "entitlements.change", "requirements.change",
                "requirements.confirm", "reconciliation.change", "imports.run", "inventory.change",
                "receiving.upload"}
    ),
    Role.CLEARING: frozenset(
        # receiving.upload: clearing staff upload procurement files (docs/guide-clearing.md), nothing else.
        {"dashboard.view", "catalog.view", "receiving.view", "receiving.change", "receiving.upload", "jobs.view",
         "export"}
    ),
    Role.AUDITOR: frozenset(VIEW | {"audit.view"}),
}


def role_has_perm(role: str, perm: str) -> bool:
    if perm not in ALL:
        raise ValueError(f"unknown permission {perm!r}")
    return perm in ROLE_PERMISSIONS.get(role, frozenset())
