"""What inventory plugs into the core and the catalog (registered in ``inventory.apps``)."""
from __future__ import annotations

from catalog.models import Product
from inventory.models import Fingerprint
from inventory.selectors import product_fingerprints
from sam.models import Tenant


def fingerprints_of_product(*, tenant: Tenant, product: Product) -> list[Fingerprint]:
    """The ``product.fingerprints`` hook: the catalog's product page lists the software recognised as it."""
    return product_fingerprints(tenant=tenant, product=product)
