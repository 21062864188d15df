"""Models of the compliance balance that are not the engine's: exemptions and reconciliation progress.

Imported at the bottom of ``requirements_engine.models`` so Django registers them in this app.
"""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Product, Publisher
from inventory.models import Device, Person
from sam.models import TenantModel


class Exemption(TenantModel):
    """A consumer (optionally for one product) or a single requirement that does not count, with a reason.

    Auditors see every exemption with who granted it, why and until when: an exemption is a
    documented decision ("test lab device, licensed by the publisher's free developer terms"),
    never a silent deletion of demand.
    """

    requirement = models.ForeignKey("requirements_engine.Requirement", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="exemptions")
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                help_text=_("empty: every product of the consumer"))
    subject = models.CharField(_("subject"), max_length=300, help_text=_("readable: what is exempt"))
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "revoked_at"])]
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(requirement__isnull=False) | models.Q(device__isnull=False)
                | models.Q(person__isnull=False),
                name="exemption_has_subject",
                violation_error_message=_("An exemption needs a requirement or a consumer."),
            )
        ]

    def __str__(self) -> str:
        return self.subject

    def is_active_on(self, as_of: dt.date) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_on is None or self.expires_on >= as_of


class ReconciliationScope(models.TextChoices):
    ALL = "all", _("All software")
    DESKTOP = "desktop", _("Desktop applications")
    SERVER = "server", _("Server software")


class ReconciliationItem(TenantModel):
    """One step of the per-publisher reconciliation checklist, ticked by the team."""

    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=16, choices=ReconciliationScope.choices, default=ReconciliationScope.ALL)
    key = models.CharField(max_length=64)
    done = models.BooleanField(default=False)
    done_by = models.CharField(max_length=150, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "publisher", "scope", "key"],
                                               name="reconciliation_item_unique")]

    def __str__(self) -> str:
        return f"{self.publisher_id}/{self.scope}/{self.key}"


class ReconciliationComment(TenantModel):
    """A note of the reconciliation team on a publisher (optionally on one checklist step)."""

    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=16, choices=ReconciliationScope.choices, default=ReconciliationScope.ALL)
    key = models.CharField(max_length=64, blank=True)
    text = models.TextField()
    author = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "publisher", "scope"])]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class RequirementHistory(TenantModel):
    """One version of a requirement, valid on the engine days ``valid_from`` ≤ day < ``valid_to``.

    Temporal rows written by ``requirements_engine.history.history_record`` at the end of every
    engine run: a row is opened when a requirement appears or changes and closed (``valid_to`` set)
    when it changes again or disappears, so storage grows with changes, not with days. The consumer
    and product are kept by id *and* by name, so the history survives a deleted device or person.
    """

    consumer_key = models.CharField(max_length=32)
    product = models.ForeignKey(Product, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    requirement_id_ref = models.BigIntegerField(help_text="the requirement row (it may be gone by now)")
    consumer_type = models.CharField(max_length=8)
    consumer = models.CharField(max_length=300, blank=True, help_text="device name or user name on that day")
    device_id_ref = models.BigIntegerField(null=True, blank=True)
    person_id_ref = models.BigIntegerField(null=True, blank=True)
    license_model = models.CharField(max_length=200, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    confirmation = models.CharField(max_length=16, blank=True)
    effective = models.BooleanField(default=True)
    is_secondary = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    error = models.CharField(max_length=300, blank=True)
    expression = models.CharField(max_length=500, blank=True)
    expression_values = models.JSONField(default=dict, blank=True)
    core_factor = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    foundations = models.TextField(blank=True, help_text="one 'kind<TAB>source' per line")
    carried_by = models.TextField(blank=True, help_text="consumers whose requirements carry this one, '; '-joined")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="empty: still the current version")

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "consumer_key", "product"], condition=models.Q(valid_to__isnull=True),
                         name="reqhistory_open"),
            models.Index(fields=["tenant", "valid_from", "valid_to"], name="reqhistory_days"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=models.F("valid_from")),
                                   name="reqhistory_valid_range",
                                   violation_error_message=_("A history row cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.consumer} · {self.product_id} [{self.valid_from} – {self.valid_to or '…'}]"

    @property
    def confirmed(self) -> bool:
        return self.confirmation == "confirmed"
