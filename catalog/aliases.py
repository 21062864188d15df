"""SKU aliases: a tenant's own and the clearing service's alias library, the one place that writes them.

Two layers translate a reseller's part number into a catalog SKU (``catalog.selectors.sku_resolve_lines``):

* a tenant's own aliases (``TenantSkuAlias``), kept by the tenant's clearing staff;
* the **alias library** (``SkuAlias``, master level): kept once by the clearing service, used by every
  tenant below that tenant's own aliases.

Either alias may be limited to one ``supplier``. Who may edit the library: a superuser, or a user
holding the Django permission ``catalog.change_skualias`` (grant it through a group such as
"Clearing service managers"); tenant roles alone never do, because the library changes what every
tenant's validation reads. Tenant aliases need ``receiving.change`` or ``catalog.change`` in that
tenant, which the views check.

Other apps learn about a change through ``alias_listeners`` (receiving checks the lines waiting on the
alias again), so the catalog never imports them.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from catalog.models import SkuAlias, TenantSkuAlias
from catalog.selectors import _supplier_key, normalise_part_number, skus_effective_many
from sam.audit import audit_record, snapshot
from sam.models import Tenant

LIBRARY_PERMISSION = "catalog.change_skualias"

# Called after aliases changed: listener(tenant=Tenant | None, aliases=[alias text, ...], actor=...).
# ``tenant=None`` means the library (every tenant). Registered by apps in ``AppConfig.ready()``.
alias_listeners: list[Callable[..., Any]] = []


class AliasError(ValueError):
    """The alias cannot be saved (unknown target, alias of itself, no permission)."""


def alias_library_can_edit(*, user: Any) -> bool:
    """Whether ``user`` may change the service-level alias library."""
    return bool(getattr(user, "is_active", False)
                and (getattr(user, "is_superuser", False) or user.has_perm(LIBRARY_PERMISSION)))


def sku_alias_save(*, tenant: Tenant | None, actor: Any, alias: str, part_number: str, supplier: str = "",
                   audit_tenant: Tenant | None = None, notify: bool = True) -> SkuAlias | TenantSkuAlias:
    """Create or update one alias: ``tenant=None`` writes the library, else that tenant's own aliases.

    ``part_number`` must be a catalog SKU (for the library: a master SKU, since tenants cannot see
    each other's SKUs). Audited in the tenant; a library change is audited in ``audit_tenant`` (the
    tenant whose line it was learned from) when given. Raises ``AliasError``.
    """
    alias, part_number, supplier = (alias or "").strip(), (part_number or "").strip(), (supplier or "").strip()
    if not alias or not part_number:
        raise AliasError(_("An alias needs its text and the part number it stands for."))
    if normalise_part_number(alias) == normalise_part_number(part_number):
        raise AliasError(_("A part number cannot be an alias of itself."))
    target = skus_effective_many(tenant=tenant, part_numbers=[part_number]).get(normalise_part_number(part_number))
    if target is None:
        raise AliasError(_("“%(p)s” is not a SKU of the catalog.") % {"p": part_number})
    if tenant is None and target.is_tenant:  # pragma: no cover - tenant=None reads the master only
        raise AliasError(_("The library can only point to SKUs of the master catalog."))
    model = SkuAlias if tenant is None else TenantSkuAlias
    qs = model.objects.all() if tenant is None else model.objects.filter(tenant=tenant)
    with transaction.atomic():
        existing = [a for a in qs.annotate(_a=Upper("alias")).filter(_a=alias.upper())
                    if _supplier_key(a.supplier) == _supplier_key(supplier)]
        where = tenant or audit_tenant
        kind = "library_alias" if tenant is None else "sku_alias"
        if existing:
            row = existing[0]
            if row.part_number == target.part_number:
                return row
            before = snapshot(row, ["alias", "part_number", "supplier"])
            row.part_number = target.part_number
            row.save(update_fields=["part_number"])
            if where is not None:
                audit_record(tenant=where, actor=actor, action=f"catalog.{kind}.updated", obj=row, before=before,
                             after=snapshot(row, ["alias", "part_number", "supplier"]))
        else:
            row = model(alias=alias, part_number=target.part_number, supplier=supplier)
            if tenant is not None:
                row.tenant = tenant
            row.save()
            if where is not None:
                audit_record(tenant=where, actor=actor, action=f"catalog.{kind}.created", obj=row,
                             after=snapshot(row, ["alias", "part_number", "supplier"]))
    if notify:
        aliases_changed(tenant=tenant, aliases=[alias], actor=actor)
    return row


def sku_alias_delete(*, tenant: Tenant | None, actor: Any, row: SkuAlias | TenantSkuAlias,
                     audit_tenant: Tenant | None = None) -> None:
    """Delete an alias of the library (``tenant=None``) or of ``tenant``, audited like a save."""
    if tenant is not None and getattr(row, "tenant_id", None) != tenant.pk:
        raise AliasError("not an alias of this tenant")
    where = tenant or audit_tenant
    with transaction.atomic():
        if where is not None:
            audit_record(tenant=where, actor=actor,
                         action=f"catalog.{'library_alias' if tenant is None else 'sku_alias'}.deleted", obj=row,
                         before=snapshot(row, ["alias", "part_number", "supplier"]))
        row.delete()


def aliases_changed(*, tenant: Tenant | None, aliases: list[str], actor: Any) -> None:
    """Tell the registered listeners which aliases changed (after the transaction commits)."""
    if not aliases:
        return
    for listener in list(alias_listeners):
        listener(tenant=tenant, aliases=list(aliases), actor=actor)
