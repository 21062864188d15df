"""The estate: consumers (devices, persons) and the evidence that they use software."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Classification, Product
from sam.models import TenantModel


class CostCenter(TenantModel):
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="costcenter_unique")]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PersonStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class Person(TenantModel):
    username = models.CharField(max_length=150)
    email = models.CharField(max_length=254, blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=PersonStatus.choices, default=PersonStatus.ACTIVE)
    cost_center = models.ForeignKey(CostCenter, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Fields changed by hand: {field attname: the value the import last set}. See inventory.services.
    edited_fields = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "username"], name="person_unique_username")]
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    @property
    def is_relevant(self) -> bool:
        return self.status == PersonStatus.ACTIVE


class DeviceKind(models.TextChoices):
    PHYSICAL = "physical", _("Physical")
    VIRTUAL = "virtual", _("Virtual")
    MOBILE = "mobile", _("Mobile")


class DeviceRole(models.TextChoices):
    WORKSTATION = "workstation", _("Workstation")
    LAPTOP = "laptop", _("Laptop")
    SERVER = "server", _("Server")


class Device(TenantModel):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=DeviceKind.choices, default=DeviceKind.PHYSICAL)
    role = models.CharField(max_length=16, choices=DeviceRole.choices, default=DeviceRole.WORKSTATION)
    status = models.CharField(_("asset status"), max_length=64, default="active")
    power = models.CharField(_("power"), max_length=8, blank=True, help_text="on / off")
    processors = models.PositiveIntegerField(null=True, blank=True)
    cores_per_processor = models.PositiveIntegerField(null=True, blank=True)
    threads = models.PositiveIntegerField(null=True, blank=True)
    vcpus = models.PositiveIntegerField(null=True, blank=True)
    processor_model = models.CharField(max_length=200, blank=True)
    ram_gb = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    primary_user = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Fields changed by hand: {field attname: the value the import last set}. See inventory.services.
    edited_fields = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="device_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_server(self) -> bool:
        return self.role == DeviceRole.SERVER

    @property
    def is_portable(self) -> bool:
        return self.role == DeviceRole.LAPTOP or self.kind == DeviceKind.MOBILE


class VmPlacement(TenantModel):
    """A VM ran on a host from ``valid_from`` to ``valid_to`` (open = still there)."""

    vm = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="placements")
    host = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="guests")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "vm"]), models.Index(fields=["tenant", "host"])]


class Group(TenantModel):
    name = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="group_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMembership(TenantModel):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["tenant", "group"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, device__isnull=True)
                | models.Q(person__isnull=True, device__isnull=False),
                name="membership_person_xor_device",
                violation_error_message=_("A member is either a person or a device."),
            )
        ]


class Fingerprint(TenantModel):
    """A distinct installed application (publisher, name, version) and what it was recognised as."""

    publisher = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=300)
    version = models.CharField(max_length=100, blank=True)
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.UNKNOWN)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    manual = models.BooleanField(default=False, help_text="classified by a person; rules never override it")
    classified_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "publisher", "name", "version"],
                                               name="fingerprint_unique")]
        indexes = [models.Index(fields=["tenant", "classification"]), models.Index(fields=["tenant", "product"])]

    def __str__(self) -> str:
        return " ".join(p for p in (self.publisher, self.name, self.version) if p)


class Installation(TenantModel):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="installations")
    fingerprint = models.ForeignKey(Fingerprint, on_delete=models.CASCADE, related_name="installations")
    last_seen = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "device", "fingerprint"], name="installation_unique")]
        indexes = [models.Index(fields=["tenant", "fingerprint"])]


class RemoteUsage(TenantModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    executable = models.CharField(max_length=300)
    last_used = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "person", "host", "executable"],
                                               name="remoteusage_unique")]


class BookingStatus(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REQUESTED = "requested", _("Requested")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


class ServiceBooking(TenantModel):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    service = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.REQUESTED)
    date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "person", "service"], name="booking_unique")]


class InventorySnapshot(TenantModel):
    """What the last import of one inventory kind changed (shown above the kind's list).

    Imports of the estate replace a kind's snapshot (or upsert its entities); this row keeps the
    counts of the latest one per tenant and kind so a license manager sees "what changed".
    """

    kind = models.CharField(max_length=32)
    at = models.DateTimeField(_("imported at"))
    actor_label = models.CharField(max_length=150, blank=True)
    filename = models.CharField(max_length=300, blank=True)
    read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="the first row-level reasons")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind"], name="inventorysnapshot_unique_kind")]
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.at:%Y-%m-%d %H:%M}"
