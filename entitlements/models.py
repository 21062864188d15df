"""The license inventory: agreements, repositories and license / maintenance entitlements.

Core fields only here; the entitlements app grows the full editor field set in later migrations.
"""
from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Metric, Product, Publisher
from sam.models import TenantModel


class Contract(TenantModel):
    number = models.CharField(_("agreement number"), max_length=100)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "number"], name="contract_unique_number")]
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Repository(TenantModel):
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="repository_unique_name"),
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(is_default=True),
                                    name="repository_one_default"),
        ]
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class EntitlementType(models.TextChoices):
    LICENSE = "license", _("License")
    MAINTENANCE = "maintenance", _("Maintenance")


class Term(models.TextChoices):
    PERPETUAL = "perpetual", _("Perpetual")
    SUBSCRIPTION = "subscription", _("Subscription")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Entitlement(TenantModel):
    type = models.CharField(max_length=16, choices=EntitlementType.choices, default=EntitlementType.LICENSE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="entitlements")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=100, blank=True)
    license_model = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=16, choices=Metric.choices, blank=True)
    unlimited = models.BooleanField(default=False)
    quantity = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    units = models.DecimalField(max_digits=12, decimal_places=2, default=1)
    term = models.CharField(max_length=16, choices=Term.choices, default=Term.PERPETUAL)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    version_downgrade = models.BooleanField(default=True)
    version_upgrade = models.BooleanField(default=False)
    edition_downgrade = models.BooleanField(default=False)
    currency = models.CharField(max_length=3, blank=True)
    unit_cost = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="entitlements")
    purchase_line = models.ForeignKey("receiving.PurchaseLine", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="entitlements")
    invoice_number = models.CharField(max_length=100, blank=True)
    po_number = models.CharField(max_length=100, blank=True)
    supplier = models.CharField(max_length=200, blank=True)
    cost_center = models.CharField(max_length=64, blank=True)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    covers = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="maintained_by",
                                    help_text="for a maintenance: the licenses it covers")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "status", "product"]), models.Index(fields=["tenant", "repository"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk} {self.product or self.sku}"

    @property
    def total(self):
        if self.unlimited or self.quantity is None:
            return None
        return self.quantity * self.units

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def is_active_on(self, as_of: dt.date) -> bool:
        if self.start_date and self.start_date > as_of:
            return False
        return not (self.end_date and self.end_date < as_of)
