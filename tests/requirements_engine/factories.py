"""Factories for engine tests: a small estate and its catalog rules, built with the ORM.

Child rows derive their tenant from their parent (a device's installation belongs to the device's
tenant). Catalog rules are written as tenant amendments so every test owns its own rules.
"""
from __future__ import annotations

import factory

from catalog.models import (
    Classification,
    Product,
    Publisher,
    TenantLicenseModel,
    TenantProductAssignment,
    TenantProductTerms,
)
from inventory.models import (
    Device,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    Person,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from tests.factories import TenantFactory


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


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    tenant = factory.SubFactory(TenantFactory)
    username = factory.Sequence(lambda n: f"person{n}")
    status = "active"


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"DEV-{n:05d}")
    kind = "physical"
    role = "workstation"
    status = "active"
    power = ""


class FingerprintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fingerprint
        django_get_or_create = ("tenant", "publisher", "name", "version")

    tenant = factory.SubFactory(TenantFactory)
    publisher = "Vendor"
    name = factory.Sequence(lambda n: f"App {n}")
    version = "1.0"
    classification = factory.LazyAttribute(lambda o: Classification.PRODUCT if o.product else Classification.UNKNOWN)
    product = None


class InstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installation

    device = factory.SubFactory(DeviceFactory)
    tenant = factory.LazyAttribute(lambda o: o.device.tenant)
    fingerprint = factory.SubFactory(FingerprintFactory, tenant=factory.SelfAttribute("..tenant"))


class VmPlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VmPlacement

    # A placement belongs to its VM's tenant; pass ``tenant=`` and both devices are created in it.
    tenant = factory.SubFactory(TenantFactory)
    vm = factory.SubFactory(DeviceFactory, kind="virtual", role="server", power="on",
                            tenant=factory.SelfAttribute("..tenant"))
    host = factory.SubFactory(DeviceFactory, role="server", power="on", tenant=factory.SelfAttribute("..tenant"))
    valid_from = None
    valid_to = None


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("tenant", "name")

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"GRP-{n}")


class GroupMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupMembership

    group = factory.SubFactory(GroupFactory)
    tenant = factory.LazyAttribute(lambda o: o.group.tenant)
    person = None
    device = None


class RemoteUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemoteUsage

    person = factory.SubFactory(PersonFactory)
    tenant = factory.LazyAttribute(lambda o: o.person.tenant)
    host = factory.SubFactory(DeviceFactory, role="server", power="on", tenant=factory.SelfAttribute("..tenant"))
    executable = "app.exe"


class ServiceBookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceBooking

    person = factory.SubFactory(PersonFactory)
    tenant = factory.LazyAttribute(lambda o: o.person.tenant)
    service = "App service"
    status = "approved"


def licensed_product(tenant, *, title: str, publisher: str = "Vendor", version: str = "1", edition: str = "",
                     model: str | None = None, assignment: str = "device", metric: str = "device",
                     quantity: str = "1", rounding: str = "consumer", effective: bool = True,
                     min_days: int = 0, confirmation: str = "automatic", second_copy: bool = False) -> Product:
    """A product with its default license model and terms, as the tenant's catalog amendments."""
    product = ProductFactory(publisher=PublisherFactory(name=publisher), title=title, version=version,
                             edition=edition)
    model_name = model or f"{title} model"
    TenantLicenseModel.objects.update_or_create(
        tenant=tenant, name=model_name,
        defaults={"assignment": assignment, "metric": metric, "quantity": quantity, "rounding": rounding,
                  "effective": effective})
    TenantProductTerms.objects.update_or_create(
        tenant=tenant, product=product,
        defaults={"default_license_model": model_name, "min_entitlement_days": min_days,
                  "confirmation": confirmation, "second_copy": second_copy})
    return product


def assign(tenant, *, kind: str, key: str = "", product: Product, source_product: Product | None = None):
    """Link a group / executable / service / dependency rule to a product (tenant amendment)."""
    return TenantProductAssignment.objects.create(tenant=tenant, kind=kind, key=key, product=product,
                                                  source_product=source_product)


def install(device: Device, product: Product, *, name: str | None = None) -> Installation:
    """Install an application recognised as ``product`` on ``device``."""
    fp = FingerprintFactory(tenant=device.tenant, publisher=product.publisher.name,
                            name=name or f"{product.title} {product.version} {product.edition}".strip(),
                            version="1.0", product=product, classification=Classification.PRODUCT)
    return InstallationFactory(device=device, fingerprint=fp)
