"""Receiving inspection: import batches, purchase lines waiting to be cleared, mapping profiles and
the API tokens of procurement systems.

A batch keeps the file it came from; a line keeps the values it arrived with (``raw``) next to the
values clearing staff corrected (``values``), so a correction never destroys evidence.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sam.models import TenantModel
from sam.storage import RandomName


class BatchSource(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    COMMAND = "command", _("Command")
    API = "api", _("API")
    MANUAL = "manual", _("Manual entry")


class DecimalSeparator(models.TextChoices):
    POINT = ".", _("Point (1,234.50)")
    COMMA = ",", _("Comma (1.234,50)")


class ImportProfile(TenantModel):
    """A saved column mapping for one procurement system's files (``import_data --profile NAME``)."""

    name = models.CharField(_("name"), max_length=100)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True,
                               help_text="header as in the file -> canonical column")
    date_format = models.CharField(_("date format"), max_length=32, blank=True,
                                   help_text="strptime format such as %d.%m.%Y; empty means ISO 8601")
    decimal_separator = models.CharField(_("decimal separator"), max_length=1, choices=DecimalSeparator.choices,
                                         default=DecimalSeparator.POINT)
    default_currency = models.CharField(_("default currency"), max_length=3, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="receiving_profile_unique_name",
                                               violation_error_message=_("A profile with this name exists."))]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(TenantModel):
    source = models.CharField(max_length=16, choices=BatchSource.choices, default=BatchSource.UPLOAD)
    filename = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to=RandomName("receiving/batches"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    actor_label = models.CharField(max_length=150, blank=True, help_text="user, command or API token")
    profile = models.ForeignKey(ImportProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    date_format = models.CharField(max_length=32, blank=True)
    decimal_separator = models.CharField(max_length=1, default=".")
    default_currency = models.CharField(max_length=3, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    duplicates_skipped = models.PositiveIntegerField(default=0, help_text="lines already received before")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"])]

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
    # No index: the queue and the alias mapping compare upper(sku) within a tenant's waiting lines, which
    # the (tenant, status, id) and waiting-line indexes narrow; a plain index cost every insert two writes.
    sku = models.CharField(max_length=100, blank=True)
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
    # Parsed from ``values`` by validation, so the queue can filter and sort in SQL.
    description = models.CharField(max_length=300, blank=True)
    contract_number = models.CharField(max_length=100, blank=True)
    cost_center = models.CharField(max_length=64, blank=True)
    requester_email = models.CharField(max_length=254, blank=True)
    order_date = models.DateField(null=True, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True,
                                 help_text="quantity x unit price, for the collection rate by value")
    resolved_sku = models.CharField(max_length=100, blank=True, help_text="catalog part number after aliases")
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason_codes = models.CharField(max_length=500, blank=True,
                                    help_text="',code,code,' of the blocking reasons, for filtering and counting")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="content hash: re-imports are skipped")
    transferred_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    rejection_note = models.CharField(max_length=500, blank=True)
    # Who owns the line in the clearing service, and who cleared it (the actor of its transfer).
    # No index of their own: each would cost every one of 100,000 inserted lines a write; "my lines"
    # uses the partial index below, throughput is grouped per tenant.
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_index=False)
    assigned_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", db_index=False)

    class Meta:
        indexes = [
            # The cross-tenant workspace: waiting lines of many tenants, oldest first. Partial, so the
            # transferred lines (most of them) cost nothing to write or keep.
            models.Index(fields=["id"], include=["tenant_id"], condition=models.Q(status="waiting"),
                         name="recv_line_waiting_id"),
            models.Index(fields=["tenant", "assigned_to"], condition=models.Q(status="waiting"),
                         name="recv_line_waiting_owner"),
            models.Index(fields=["tenant", "po_number", "po_line"]),
            models.Index(fields=["tenant", "invoice_number"]),
            models.Index(fields=["tenant", "status", "id"], name="recv_line_queue"),
            models.Index(fields=["tenant", "fingerprint"], name="recv_line_fingerprint"),
            models.Index(fields=["tenant", "batch", "status"], name="recv_line_batch_status"),
        ]
        ordering = ["id"]

    @property
    def quantity_text(self) -> str:
        """The parsed quantity, or the text as given when it could not be read."""
        return str(self.quantity) if self.quantity is not None else str((self.values or {}).get("quantity", ""))

    @property
    def reason_list(self) -> list[str]:
        return [r.get("code", "") for r in self.reasons or []]

    def __str__(self) -> str:
        return f"{self.po_number}/{self.po_line} {self.sku}"


class ApiToken(TenantModel):
    """A procurement system's key to push lines. Only a SHA-256 digest is stored; the token is shown once."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, help_text="the token's first characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
