"""Pages of the estate: declared lists with filters and export, device and person details.

Views parse and render; reads go through ``inventory.selectors``. Each list shows what the last
import of its kind changed (``InventorySnapshot``).
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.forms import ClassifyForm
from catalog.models import Classification
from catalog.selectors import products_visible
from inventory import services, tables
from inventory.forms import DeviceForm, PersonForm
from inventory.models import (
    CostCenter,
    Device,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    InventorySnapshot,
    Person,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from inventory.recognition import fingerprint_classify
from inventory.selectors import (
    device_facts,
    device_groups,
    fingerprints_unknown,
    group_member_counts,
    person_groups,
    relevant_devices,
)
from sam.lists import TenantListView
from sam.views import TenantView

SECTIONS = (
    ("inventory:devices", _("Devices"), "devices"),
    ("inventory:persons", _("Persons"), "persons"),
    ("inventory:cost-centers", _("Cost centers"), "cost_centers"),
    ("inventory:groups", _("Groups"), "group_memberships"),
    ("inventory:memberships", _("Memberships"), "group_memberships"),
    ("inventory:installations", _("Installations"), "installations"),
    ("inventory:fingerprints", _("Software"), "installations"),
    ("inventory:recognition", _("Recognition"), "installations"),
    ("inventory:placements", _("VM placements"), "vm_hosts"),
    ("inventory:remote-usage", _("Remote usage"), "remote_usage"),
    ("inventory:service-bookings", _("Service bookings"), "service_bookings"),
)


class InventoryListView(TenantListView):
    """A list of the estate with the sections' navigation and the last import of its kind."""

    permission = "inventory.view"
    template_name = "inventory/list.html"
    snapshot_kind = ""

    def extra_context(self) -> dict:
        current = self.request.resolver_match.view_name if self.request.resolver_match else ""
        sections = [{"url": self.tenant_url(name), "label": label, "active": name == current}
                    for name, label, _kind in SECTIONS]
        snapshot = InventorySnapshot.objects.filter(kind=self.snapshot_kind).first() if self.snapshot_kind else None
        return {"sections": sections, "snapshot": snapshot}


class DeviceList(InventoryListView):
    model = Device
    table_class = tables.DeviceTable
    title = _("Devices")
    snapshot_kind = "devices"
    filter_fields = {"name": "text", "kind": "choice", "role": "choice", "status": "choice", "power": "choice",
                     "processors": "number", "cores_per_processor": "number", "vcpus": "number",
                     "processor_model": "text", "primary_user__username": "text"}

    def get_queryset(self):
        return Device.objects.select_related("primary_user")


class PersonList(InventoryListView):
    model = Person
    table_class = tables.PersonTable
    title = _("Persons")
    snapshot_kind = "persons"
    filter_fields = {"username": "text", "name": "text", "email": "text", "status": "choice",
                     "cost_center__code": "text"}

    def get_queryset(self):
        return Person.objects.select_related("cost_center")


class CostCenterList(InventoryListView):
    model = CostCenter
    table_class = tables.CostCenterTable
    title = _("Cost centers")
    snapshot_kind = "cost_centers"
    filter_fields = {"code": "text", "name": "text"}
    export_name = "cost-centers"

    def get_queryset(self):
        # Person.cost_center has no reverse accessor: count with a correlated subquery.
        persons = (Person.objects.filter(cost_center=OuterRef("pk")).order_by().values("cost_center")
                   .annotate(n=Count("pk")).values("n"))
        return CostCenter.objects.annotate(persons=Coalesce(Subquery(persons, output_field=IntegerField()), 0))


class GroupList(InventoryListView):
    model = Group
    table_class = tables.GroupTable
    title = _("Groups")
    snapshot_kind = "group_memberships"
    filter_fields = {"name": "text"}

    def get_queryset(self):
        return group_member_counts(tenant=self.tenant)


class MembershipList(InventoryListView):
    model = GroupMembership
    table_class = tables.MembershipTable
    title = _("Group memberships")
    snapshot_kind = "group_memberships"
    filter_fields = {"group__name": "text", "person__username": "text", "device__name": "text"}
    export_name = "group-memberships"

    def get_queryset(self):
        return GroupMembership.objects.select_related("group", "person", "device")


class InstallationList(InventoryListView):
    model = Installation
    table_class = tables.InstallationTable
    title = _("Installations")
    snapshot_kind = "installations"
    filter_fields = {"device__name": "text", "fingerprint__publisher": "text", "fingerprint__name": "text",
                     "fingerprint__version": "text", "fingerprint__classification": "choice", "last_seen": "date"}

    def get_queryset(self):
        return Installation.objects.select_related("device", "fingerprint", "fingerprint__product",
                                                   "fingerprint__product__publisher")


class FingerprintList(InventoryListView):
    """Distinct installed software (fingerprints) with the number of devices it is on."""

    model = Fingerprint
    table_class = tables.FingerprintTable
    title = _("Software on devices")
    snapshot_kind = "installations"
    filter_fields = {"publisher": "text", "name": "text", "version": "text", "classification": "choice"}
    export_name = "software"

    def get_queryset(self):
        return (Fingerprint.objects.select_related("product", "product__publisher")
                .annotate(devices=Count("installations", distinct=True)))


class PlacementList(InventoryListView):
    model = VmPlacement
    table_class = tables.PlacementTable
    title = _("VM placements")
    snapshot_kind = "vm_hosts"
    filter_fields = {"vm__name": "text", "host__name": "text", "valid_from": "date", "valid_to": "date"}
    export_name = "vm-placements"

    def get_queryset(self):
        return VmPlacement.objects.select_related("vm", "host").order_by("vm__name", "valid_from")


class RemoteUsageList(InventoryListView):
    model = RemoteUsage
    table_class = tables.RemoteUsageTable
    title = _("Remote usage")
    snapshot_kind = "remote_usage"
    filter_fields = {"person__username": "text", "host__name": "text", "executable": "text", "last_used": "date"}
    export_name = "remote-usage"

    def get_queryset(self):
        return RemoteUsage.objects.select_related("person", "host")


class ServiceBookingList(InventoryListView):
    model = ServiceBooking
    table_class = tables.ServiceBookingTable
    title = _("Service bookings")
    snapshot_kind = "service_bookings"
    filter_fields = {"person__username": "text", "service": "text", "status": "choice", "date": "date"}
    export_name = "service-bookings"

    def get_queryset(self):
        return ServiceBooking.objects.select_related("person")


class DeviceDetail(TenantView):
    """One device: facts as the engine sees them, relevance, software, VM history, groups, user."""

    permission = "inventory.view"
    model = Device

    def get(self, request, pk: int):
        device = get_object_or_404(Device.objects.select_related("primary_user"), pk=pk)
        today = dt.date.today()
        placements = list(VmPlacement.objects.filter(vm=device).select_related("host").order_by("-valid_from"))
        guests = list(VmPlacement.objects.filter(host=device).select_related("vm")
                      .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today)).order_by("vm__name"))
        installations = (Installation.objects.filter(device=device)
                         .select_related("fingerprint", "fingerprint__product", "fingerprint__product__publisher")
                         .order_by("fingerprint__publisher", "fingerprint__name", "fingerprint__version"))
        return self.render("inventory/device_detail.html", {
            "device": device,
            "facts": device_facts(tenant=self.tenant, device_ids=[device.pk]).get(device.pk, {}),
            "relevant": relevant_devices(tenant=self.tenant).filter(pk=device.pk).exists(),
            "installations": installations,
            "placements": placements,
            "guests": guests,
            "groups": device_groups(tenant=self.tenant, device=device),
            "today": today,
            "can_change": self.can("inventory.change"),
        })


class PersonDetail(TenantView):
    """One person: status, cost center, devices they use, groups, remote usage and bookings."""

    permission = "inventory.view"
    model = Person

    def get(self, request, pk: int):
        person = get_object_or_404(Person.objects.select_related("cost_center"), pk=pk)
        return self.render("inventory/person_detail.html", {
            "person": person,
            "devices": Device.objects.filter(primary_user=person).order_by("name"),
            "groups": person_groups(tenant=self.tenant, person=person),
            "remote_usage": RemoteUsage.objects.filter(person=person).select_related("host").order_by("executable"),
            "bookings": ServiceBooking.objects.filter(person=person).order_by("service"),
            "can_change": self.can("inventory.change"),
        })


class DeviceEdit(TenantView):
    """Edit a device by hand (kept across imports until the import changes the field)."""

    permission = "inventory.change"
    model = Device

    def _device(self, pk: int) -> Device:
        return get_object_or_404(Device.objects.select_related("primary_user"), pk=pk)

    def get(self, request, pk: int):
        device = self._device(pk)
        return self.render("inventory/edit.html", {"form": DeviceForm(instance=device), "object": device,
                                                    "kind": _("device"), "back": self.tenant_url("inventory:device", pk=pk)})

    def post(self, request, pk: int):
        device = self._device(pk)
        form = DeviceForm(request.POST, instance=Device.objects.get(pk=pk))
        if form.is_valid():
            services.device_update(device=device, actor=request.user, data=form.changes())
            messages.success(request, _("Device saved; this edit stays until an import changes the field."))
            return redirect(self.tenant_url("inventory:device", pk=pk))
        return self.render("inventory/edit.html", {"form": form, "object": device, "kind": _("device"),
                                                    "back": self.tenant_url("inventory:device", pk=pk)})


class DeviceRetire(TenantView):
    """Retire a device (POST): its status becomes "retired" and it no longer needs licenses."""

    permission = "inventory.change"
    model = Device

    def post(self, request, pk: int):
        device = get_object_or_404(Device, pk=pk)
        services.device_retire(device=device, actor=request.user)
        messages.success(request, _("%(name)s retired.") % {"name": device.name})
        return redirect(self.tenant_url("inventory:device", pk=pk))


class PersonEdit(TenantView):
    permission = "inventory.change"
    model = Person

    def _person(self, pk: int) -> Person:
        return get_object_or_404(Person.objects.select_related("cost_center"), pk=pk)

    def get(self, request, pk: int):
        person = self._person(pk)
        return self.render("inventory/edit.html", {"form": PersonForm(instance=person), "object": person,
                                                    "kind": _("person"), "back": self.tenant_url("inventory:person", pk=pk)})

    def post(self, request, pk: int):
        person = self._person(pk)
        form = PersonForm(request.POST, instance=Person.objects.get(pk=pk))
        if form.is_valid():
            services.person_update(person=person, actor=request.user, data=form.changes())
            messages.success(request, _("Person saved; this edit stays until an import changes the field."))
            return redirect(self.tenant_url("inventory:person", pk=pk))
        return self.render("inventory/edit.html", {"form": form, "object": person, "kind": _("person"),
                                                    "back": self.tenant_url("inventory:person", pk=pk)})


class PersonRetire(TenantView):
    permission = "inventory.change"
    model = Person

    def post(self, request, pk: int):
        person = get_object_or_404(Person, pk=pk)
        services.person_retire(person=person, actor=request.user)
        messages.success(request, _("%(name)s retired (inactive).") % {"name": person.username})
        return redirect(self.tenant_url("inventory:person", pk=pk))


# --- recognition: the unknown-fingerprint work list ---------------------------------------------


class RecognitionMixin:
    """Classifying software is catalog work (catalog permissions) on inventory's fingerprints."""

    def render(self, template, context=None, **kwargs):
        current = self.request.resolver_match.view_name if self.request.resolver_match else ""
        sections = [{"url": self.tenant_url(name), "label": label, "active": name == current}
                    for name, label, _kind in SECTIONS]
        ctx = {"sections": sections, "can_change": self.can("catalog.change")}
        ctx.update(context or {})
        return super().render(template, ctx, **kwargs)


class FingerprintQueue(RecognitionMixin, TenantView):
    """Unknown installed software, most installed first, each with a classify form."""

    permission = "catalog.view"
    per_page = 50

    def get(self, request):
        qs = fingerprints_unknown(tenant=self.tenant)
        q = request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(name__icontains=q) | Q(publisher__icontains=q))
        page = Paginator(qs, self.per_page).get_page(request.GET.get("page"))
        recent = (Fingerprint.objects.filter(tenant=self.tenant, manual=True).select_related("product__publisher")
                  .order_by("-pk")[:20])
        return self.render("inventory/recognition.html", {"page": page, "q": q, "recent": recent})


class FingerprintClassify(RecognitionMixin, TenantView):
    """POST a person's classification of one fingerprint (HTMX swaps the row); GET shows the row."""

    permission = "catalog.view"
    post_permission = "catalog.change"

    model = Fingerprint

    def _get(self, pk: int):
        return get_object_or_404(Fingerprint.objects.select_related("product__publisher")
                                 .annotate(installation_count=Count("installations")), pk=pk)

    def get(self, request, pk: int):
        fp = self._get(pk)
        return self.render("inventory/partials/fingerprint_row.html", {"fp": fp})

    def post(self, request, pk: int):
        fp = self._get(pk)
        form = ClassifyForm(request.POST)
        error = ""
        if form.is_valid():
            classification = form.cleaned_data["classification"]
            product = None
            if classification == Classification.PRODUCT:
                pid = form.cleaned_data.get("product")
                product = products_visible(tenant=self.tenant).filter(pk=pid).first() if pid else None
                if product is None:
                    error = gettext("Choose the product this software is.")
            if not error:
                fingerprint_classify(tenant=self.tenant, fingerprint=fp, classification=classification,
                                     product=product, actor=request.user)
                fp = self._get(pk)
        else:
            error = gettext("Choose a classification.")
        if request.htmx:
            response = self.render("inventory/partials/fingerprint_row.html",
                                   {"fp": fp, "error": error, "done": not error})
            response["Vary"] = "HX-Request"
            return response
        if error:
            messages.error(request, error)
        else:
            messages.success(request, gettext("%(name)s classified.") % {"name": fp})
        return HttpResponseRedirect(self.tenant_url("inventory:recognition"))
