"""Tables of the estate's lists (django-tables2). Every related column is select_related by its view."""
from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

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


class TenantLinkColumn(tables.Column):
    """A value linking to a tenant page that takes ``pk``; exports get the plain value."""

    def __init__(self, viewname: str, *, pk_accessor: str = "pk", **kwargs):
        self.viewname = viewname
        self.pk_accessor = pk_accessor
        super().__init__(**kwargs)

    def render(self, value, record, table):
        pk = tables.A(self.pk_accessor).resolve(record)
        request = getattr(table, "request", None)
        if pk is None or request is None or getattr(request, "tenant", None) is None:
            return value
        url = reverse(self.viewname, kwargs={"tenant": request.tenant.slug, "pk": pk})
        return format_html('<a href="{}">{}</a>', url, value)

    def value(self, value):
        return value


class DeviceTable(tables.Table):
    name = TenantLinkColumn("inventory:device", verbose_name=_("Name"))
    primary_user = TenantLinkColumn("inventory:person", pk_accessor="primary_user_id",
                                    accessor="primary_user__username", verbose_name=_("Primary user"))

    class Meta:
        model = Device
        fields = ("name", "kind", "role", "status", "power", "processors", "cores_per_processor", "threads",
                  "vcpus", "processor_model", "ram_gb", "primary_user")
        default_columns = ("name", "kind", "role", "status", "power", "processors", "cores_per_processor",
                           "primary_user")
        attrs = {"class": "data"}


class PersonTable(tables.Table):
    username = TenantLinkColumn("inventory:person", verbose_name=_("Username"))
    cost_center = tables.Column(accessor="cost_center__code", verbose_name=_("Cost center"))

    class Meta:
        model = Person
        fields = ("username", "name", "email", "status", "cost_center")
        default_columns = fields
        attrs = {"class": "data"}


class CostCenterTable(tables.Table):
    persons = tables.Column(verbose_name=_("Persons"))

    class Meta:
        model = CostCenter
        fields = ("code", "name", "persons")
        default_columns = fields
        attrs = {"class": "data"}


class GroupTable(tables.Table):
    persons = tables.Column(verbose_name=_("Person members"))
    devices = tables.Column(verbose_name=_("Device members"))
    members = tables.Column(accessor="name", verbose_name=_("Members"), orderable=False)

    class Meta:
        model = Group
        fields = ("name", "persons", "devices", "members")
        default_columns = fields
        attrs = {"class": "data"}

    def render_members(self, value):
        request = getattr(self, "request", None)
        if request is None:
            return value
        from django.utils.http import urlencode

        url = reverse("inventory:memberships", kwargs={"tenant": request.tenant.slug})
        query = urlencode({"group__name": value, "group__name__op": "iexact"})
        return format_html('<a href="{}?{}">{}</a>', url, query, _("show members"))

    def value_members(self, value):
        return ""


class MembershipTable(tables.Table):
    group = tables.Column(accessor="group__name", verbose_name=_("Group"))
    person = TenantLinkColumn("inventory:person", pk_accessor="person_id", accessor="person__username",
                              verbose_name=_("Person"))
    device = TenantLinkColumn("inventory:device", pk_accessor="device_id", accessor="device__name",
                              verbose_name=_("Device"))

    class Meta:
        model = GroupMembership
        fields = ("group", "person", "device")
        default_columns = fields
        attrs = {"class": "data"}


class InstallationTable(tables.Table):
    device = TenantLinkColumn("inventory:device", pk_accessor="device_id", accessor="device__name",
                              verbose_name=_("Device"))
    publisher = tables.Column(accessor="fingerprint__publisher", verbose_name=_("Publisher"))
    name = tables.Column(accessor="fingerprint__name", verbose_name=_("Name"))
    version = tables.Column(accessor="fingerprint__version", verbose_name=_("Version"))
    classification = tables.Column(accessor="fingerprint__classification", verbose_name=_("Classification"))
    product = tables.Column(accessor="fingerprint__product", verbose_name=_("Product"))

    class Meta:
        model = Installation
        fields = ("device", "publisher", "name", "version", "classification", "product", "last_seen")
        default_columns = fields
        attrs = {"class": "data"}


class FingerprintTable(tables.Table):
    devices = tables.Column(verbose_name=_("Devices"))
    product = tables.Column(accessor="product", verbose_name=_("Product"))

    class Meta:
        model = Fingerprint
        fields = ("publisher", "name", "version", "classification", "product", "devices", "manual")
        default_columns = ("publisher", "name", "version", "classification", "product", "devices")
        attrs = {"class": "data"}


class PlacementTable(tables.Table):
    vm = TenantLinkColumn("inventory:device", pk_accessor="vm_id", accessor="vm__name", verbose_name=_("VM"))
    host = TenantLinkColumn("inventory:device", pk_accessor="host_id", accessor="host__name", verbose_name=_("Host"))

    class Meta:
        model = VmPlacement
        fields = ("vm", "host", "valid_from", "valid_to")
        default_columns = fields
        attrs = {"class": "data"}


class RemoteUsageTable(tables.Table):
    person = TenantLinkColumn("inventory:person", pk_accessor="person_id", accessor="person__username",
                              verbose_name=_("User"))
    host = TenantLinkColumn("inventory:device", pk_accessor="host_id", accessor="host__name", verbose_name=_("Host"))

    class Meta:
        model = RemoteUsage
        fields = ("person", "host", "executable", "last_used")
        default_columns = fields
        attrs = {"class": "data"}


class ServiceBookingTable(tables.Table):
    person = TenantLinkColumn("inventory:person", pk_accessor="person_id", accessor="person__username",
                              verbose_name=_("User"))

    class Meta:
        model = ServiceBooking
        fields = ("person", "service", "status", "date")
        default_columns = fields
        attrs = {"class": "data"}
