"""License requirements with their foundations, the allocation of licenses, and the balance."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Product
from entitlements.models import Entitlement
from inventory.models import Device, Person
from sam.models import TenantModel


class ConsumerType(models.TextChoices):
    DEVICE = "device", _("Device")
    PERSON = "person", _("Person")


class ConfirmationState(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")
    CONFIRMED = "confirmed", _("Confirmed")
    UNAUTHORISED = "unauthorised", _("Not authorised – removal requested")


def consumer_key_of(device_id: int | None, person_id: int | None) -> str:
    """The engine's key of a consumer: ``d:<id>`` for a device, ``p:<id>`` for a person."""
    return f"d:{device_id}" if device_id else f"p:{person_id}"


#: The engine writes requirements and foundations in bulk (COPY) and derives every reference from
#: rows it has just read; deletions cascade through Django. Database-level foreign-key checks would
#: cost one deferred trigger per row and reference at commit (millions at 100,000 devices), and the
#: tenant's own single-column index duplicates the unique keys that start with ``tenant``.
ENGINE_FK = {"db_constraint": False}


class Requirement(TenantModel):
    """One consumer needs licenses for one product under one license model (unique per consumer × product)."""

    tenant = models.ForeignKey("sam.Tenant", on_delete=models.CASCADE, related_name="+", editable=False,
                               db_index=False, **ENGINE_FK)

    consumer_type = models.CharField(max_length=8, choices=ConsumerType.choices)
    # "d:<device id>" or "p:<person id>": one non-partial key so the engine can upsert on
    # (tenant, consumer_key, product) on every database (partial indexes cannot be ON CONFLICT targets).
    consumer_key = models.CharField(max_length=32, default="", editable=False)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="+", **ENGINE_FK)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+", **ENGINE_FK)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", **ENGINE_FK)
    license_model = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    expression = models.CharField(max_length=500, blank=True)
    expression_values = models.JSONField(default=dict, blank=True)
    core_factor = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    effective = models.BooleanField(default=True)
    manual = models.BooleanField(default=False, help_text="entered by hand: no assignment mapping")
    confirmation = models.CharField(max_length=16, choices=ConfirmationState.choices,
                                    default=ConfirmationState.UNCONFIRMED)
    consolidated_into = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="consolidates",
                                               help_text="for a VM's requirement: the host requirements that carry it")
    is_secondary = models.BooleanField(default=False, help_text="carried by others; counts zero itself")
    note = models.CharField(max_length=300, blank=True, help_text="why the engine set this quantity (second copy, ...)")
    confirmed_by = models.CharField(max_length=150, blank=True,
                                    help_text="who confirmed or marked it unauthorised; empty = the engine decided")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "device", "product"], condition=models.Q(device__isnull=False),
                                    name="requirement_unique_device_product"),
            models.UniqueConstraint(fields=["tenant", "person", "product"], condition=models.Q(person__isnull=False),
                                    name="requirement_unique_person_product"),
            models.UniqueConstraint(fields=["tenant", "consumer_key", "product"], name="requirement_unique_consumer_key"),
        ]
        indexes = [models.Index(fields=["tenant", "product"])]

    def save(self, *args, **kwargs):
        self.consumer_key = consumer_key_of(self.device_id, self.person_id)
        super().save(*args, **kwargs)

    @property
    def consumer(self):
        return self.device if self.consumer_type == ConsumerType.DEVICE else self.person

    @property
    def confirmed(self) -> bool:
        return self.confirmation == ConfirmationState.CONFIRMED


class FoundationKind(models.TextChoices):
    INSTALLATION = "installation", _("Local installation")
    GROUP = "group", _("Group membership")
    REMOTE = "remote", _("Remote usage")
    COLLATERAL = "collateral", _("Collateral requirement")
    BOOKING = "booking", _("Service booking")
    CONSOLIDATION = "consolidation", _("Consolidated from a virtual machine")
    ASSIGNMENT = "assignment", _("License assignment (through a person or computer)")


class Foundation(TenantModel):
    tenant = models.ForeignKey("sam.Tenant", on_delete=models.CASCADE, related_name="+", editable=False,
                               db_index=False, **ENGINE_FK)
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="foundations", **ENGINE_FK)
    kind = models.CharField(max_length=16, choices=FoundationKind.choices)
    source = models.CharField(max_length=300, help_text="readable source record, e.g. 'PC-1: Contoso Draw 2022'")
    source_key = models.CharField(max_length=200, help_text="stable key of the source record")
    first_seen = models.DateField(null=True, blank=True)
    last_true = models.DateField(null=True, blank=True, help_text="the last day the condition held")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "requirement", "kind", "source_key"],
                                               name="foundation_unique")]


class Allocation(TenantModel):
    """Units of one entitlement allocated to one position (product × license model)."""

    as_of = models.DateField()
    repository_id_ref = models.BigIntegerField(null=True, blank=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    license_model = models.CharField(max_length=200)
    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="allocations")
    units = models.DecimalField(max_digits=14, decimal_places=4)
    rule = models.CharField(max_length=64, help_text="exact, version downgrade, edition downgrade, ...")

    class Meta:
        indexes = [models.Index(fields=["tenant", "as_of", "product"])]


class BalanceRow(TenantModel):
    """The license position for one product × license model on one day (kept daily for trends)."""

    as_of = models.DateField()
    repository_id_ref = models.BigIntegerField(null=True, blank=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    license_model = models.CharField(max_length=200)
    metric = models.CharField(max_length=16, blank=True)
    required = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    unconfirmed = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    purchased = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    covered = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    shortfall = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    surplus = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    shortfall_cost = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    expiring = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    # An unlimited license (site license, ELA) among the position's own or covering licenses.
    unlimited = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "as_of"])]
        constraints = [models.UniqueConstraint(fields=["tenant", "as_of", "repository_id_ref", "product", "license_model"],
                                               name="balance_unique_position")]

    @property
    def status(self) -> str:
        return "shortfall" if self.shortfall > 0 else "compliant"


# Exemptions and reconciliation progress live in their own module (the balance's part of the app).
from requirements_engine.models_balance import (  # noqa: E402,F401
    Exemption,
    ReconciliationComment,
    ReconciliationItem,
    RequirementHistory,
)
