"""Factories of the license inventory; children take their tenant from their parent."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from catalog.models import Product, Publisher, Sku
from entitlements.models import Contract, Entitlement, Repository


class PublisherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Publisher
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Publisher {n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("publisher", "title", "version", "edition")

    publisher = factory.SubFactory(PublisherFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    version = "2024"
    edition = "Standard"


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ("part_number",)

    part_number = factory.Sequence(lambda n: f"SKU-{n:05d}")
    product = factory.SubFactory(ProductFactory)
    description = factory.LazyAttribute(lambda o: f"{o.product.title} license")
    license_model = ""
    units = Decimal(1)


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    number = factory.Sequence(lambda n: f"K-{n}")
    name = "Select agreement"
    start_date = dt.date(2024, 1, 1)
    end_date = dt.date(2030, 12, 31)


def default_repository(tenant) -> Repository:
    return Repository.objects.get(tenant=tenant, is_default=True)


class EntitlementFactory(factory.django.DjangoModelFactory):
    """A valid published-ready license; pass ``tenant=``. Use the services for lifecycle changes."""

    class Meta:
        model = Entitlement

    repository = factory.LazyAttribute(lambda o: default_repository(o.tenant))
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal(10)
    units = Decimal(1)
    start_date = dt.date(2025, 1, 1)
    unit_cost = Decimal("100.00")
    currency = "EUR"
