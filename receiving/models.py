"""Receiving inspection: import batches and purchase lines waiting to be cleared.

Core fields only here; the receiving app grows profiles, tokens and the rest in later migrations.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sam.models import TenantModel


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    COMMAND = "command", _("Command")
    API = "api", _("API")


class ImportBatch(TenantModel):
    source = models.CharField(max_length=16, choices=BatchSource.choices, default=BatchSource.UPLOAD)
    filename = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to="receiving/batches/%Y/%m/", blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Batch #{self.pk} {self.filename}"


class LineStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    TRANSFERRED = "transferred", _("Transferred")
    REJECTED = "rejected", _("Rejected")


class PurchaseLine(TenantModel):
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="lines")
    row_number = models.PositiveIntegerField(default=0)
    raw = models.JSONField(default=dict, help_text="the values as received, never changed")
    values = models.JSONField(default=dict, help_text="the current (possibly corrected) values")
    status = models.CharField(max_length=16, choices=LineStatus.choices, default=LineStatus.WAITING)
    reasons = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    sku = models.CharField(max_length=100, blank=True, db_index=True)
    po_number = models.CharField(max_length=100, blank=True)
    po_line = models.CharField(max_length=32, blank=True)
    invoice_number = models.CharField(max_length=100, blank=True)
    supplier = models.CharField(max_length=200, blank=True)
    publisher = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "po_number", "po_line"]),
            models.Index(fields=["tenant", "invoice_number"]),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.po_number}/{self.po_line} {self.sku}"
