"""ORM builders for the balance tests: a tiny estate inside the tenant's scope, rows created directly."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from catalog.models import EditionRank, LicenseModel, Product, ProductTerms, Publisher
from entitlements.models import Entitlement, Repository
from inventory.models import Device, Person
from requirements_engine.models import Requirement

AS_OF = dt.date(2026, 6, 15)
_ENTITLEMENT_FIELDS = {f.name for f in Entitlement._meta.get_fields()}


def license_model(name: str = "Per Device", *, metric: str = "device", rounding: str = "consumer",
                  assignment: str = "device") -> LicenseModel:
    obj, _ = LicenseModel.objects.get_or_create(name=name, defaults={"metric": metric, "rounding": rounding,
                                                                     "assignment": assignment})
    return obj


def product(publisher: str, title: str, version: str = "", edition: str = "", *, model: str = "Per Device",
            release: dt.date | None = None) -> Product:
    pub, _ = Publisher.objects.get_or_create(name=publisher)
    prod, _ = Product.objects.get_or_create(publisher=pub, title=title, version=version, edition=edition,
                                            defaults={"release_date": release})
    ProductTerms.objects.get_or_create(product=prod, defaults={"default_license_model": model})
    return prod


def rank(publisher: str, title: str, edition: str, value: int) -> None:
    EditionRank.objects.update_or_create(publisher=publisher, title=title, edition=edition,
                                         defaults={"rank": value})


def default_repository(tenant) -> Repository:
    repo, _ = Repository.objects.get_or_create(tenant=tenant, is_default=True, defaults={"name": "Default"})
    return repo


def entitlement(tenant, prod: Product | None, quantity, *, model: str = "Per Device", type: str = "license",
                status: str = "published", repository: Repository | None = None, **fields) -> Entitlement:
    """A counted license by default: published, valid, in the Default repository, open-ended."""
    values = dict(tenant=tenant, type=type, status=status, product=prod, license_model=model,
                  quantity=Decimal(str(quantity)) if quantity is not None else None,
                  repository=repository or default_repository(tenant))
    if "state" in _ENTITLEMENT_FIELDS:  # the entitlements app's combined list status
        values["state"] = ("invalid" if fields.get("errors") else "published") if status == "published" else "draft"
    values.update(fields)
    return Entitlement.objects.create(**values)


def device(tenant, name: str, **fields) -> Device:
    return Device.objects.create(tenant=tenant, name=name, **fields)


def person(tenant, username: str) -> Person:
    return Person.objects.create(tenant=tenant, username=username)


def requirement(tenant, prod: Product, quantity=1, *, consumer=None, model: str = "Per Device",
                confirmation: str = "confirmed", **fields) -> Requirement:
    if consumer is None:
        consumer = device(tenant, f"PC-{Device.objects.count() + 1}")
    values = dict(tenant=tenant, product=prod, license_model=model, quantity=Decimal(str(quantity)),
                  confirmation=confirmation)
    if isinstance(consumer, Person):
        values.update(consumer_type="person", person=consumer)
    else:
        values.update(consumer_type="device", device=consumer)
    values.update(fields)
    return Requirement.objects.create(**values)
