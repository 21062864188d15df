"""Factories of the estate. Children take their tenant from their parent (device, person, group)."""
from __future__ import annotations

import factory

from inventory.models import (
    CostCenter,
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


class CostCenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CostCenter

    tenant = factory.SubFactory(TenantFactory)
    code = factory.Sequence(lambda n: f"CC{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Cost center {o.code}")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    tenant = factory.SubFactory(TenantFactory)
    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    name = factory.LazyAttribute(lambda o: o.username.title())


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"PC-{n:04d}")
    processors = 1
    cores_per_processor = 4
    threads = 8


class VmPlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VmPlacement

    vm = factory.SubFactory(DeviceFactory, kind="virtual", role="server", power="on")
    tenant = factory.LazyAttribute(lambda o: o.vm.tenant)
    host = factory.SubFactory(DeviceFactory, tenant=factory.SelfAttribute("..tenant"), role="server", power="on")


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"GRP-{n}")


class GroupMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupMembership

    group = factory.SubFactory(GroupFactory)
    tenant = factory.LazyAttribute(lambda o: o.group.tenant)
    person = factory.SubFactory(PersonFactory, tenant=factory.SelfAttribute("..tenant"))


class FingerprintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fingerprint

    tenant = factory.SubFactory(TenantFactory)
    publisher = "Contoso Ltd"
    name = factory.Sequence(lambda n: f"Contoso App {n}")
    version = "1.0"


class InstallationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installation

    device = factory.SubFactory(DeviceFactory)
    tenant = factory.LazyAttribute(lambda o: o.device.tenant)
    fingerprint = factory.SubFactory(FingerprintFactory, tenant=factory.SelfAttribute("..tenant"))


class RemoteUsageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RemoteUsage

    person = factory.SubFactory(PersonFactory)
    tenant = factory.LazyAttribute(lambda o: o.person.tenant)
    host = factory.SubFactory(DeviceFactory, tenant=factory.SelfAttribute("..tenant"), role="server", power="on")
    executable = "winword.exe"


class ServiceBookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceBooking

    person = factory.SubFactory(PersonFactory)
    tenant = factory.LazyAttribute(lambda o: o.person.tenant)
    service = factory.Sequence(lambda n: f"Service {n}")
