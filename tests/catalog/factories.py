"""Factories of the catalog: master rows are global; tenant amendments take their tenant explicitly."""
from __future__ import annotations

import factory

from catalog.models import LicenseModel, Product, Publisher, Sku


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
    version = "1"
    edition = ""


class LicenseModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LicenseModel
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Model {n}")
    assignment = "device"
    metric = "device"
    quantity = "1"


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku
        django_get_or_create = ("part_number",)

    part_number = factory.Sequence(lambda n: f"SKU-{n:05d}")
    product = factory.SubFactory(ProductFactory)
    license_model = ""
