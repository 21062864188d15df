"""The license inventory: agreements, repositories and license / maintenance entitlements.

The rules (validation, publishing, cost, counting) live in ``entitlements.services`` and
``entitlements.selectors``; the models hold fields, constraints and cheap row-only properties.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import Metric, Product, Publisher
from sam.models import TenantModel
from sam.storage import RandomName


class Contract(TenantModel):
    number = models.CharField(_("agreement number"), max_length=100)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    sponsor = models.CharField(_("sponsor"), max_length=200, blank=True)
    business_unit = models.CharField(_("business unit"), max_length=200, blank=True)
    comments = models.TextField(_("comments"), blank=True)

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


class ManagementGroup(TenantModel):
    """An organisational bucket that license managers group entitlements by (region, division...)."""

    name = models.CharField(_("name"), max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="managementgroup_unique_name")]
        ordering = ["name"]

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


class State(models.TextChoices):
    """What the list shows: the lifecycle status combined with the validation outcome."""

    DRAFT = "draft", _("Draft")
    DRAFT_ERRORS = "draft_errors", _("Draft with errors")
    DRAFT_WARNINGS = "draft_warnings", _("Draft with warnings")
    PUBLISHED = "published", _("Published")
    INVALID = "invalid", _("Invalid")


class VersionType(models.TextChoices):
    ALL = "all", _("All versions")
    DOT = "dot", _("Dot format")
    COLLOQUIAL = "colloquial", _("Colloquial")


class PaymentFrequency(models.TextChoices):
    ONCE = "once", _("Once")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    YEARLY = "yearly", _("Yearly")


# Months between two payments; "once" has no period.
PAYMENT_PERIOD_MONTHS = {PaymentFrequency.MONTHLY: 1, PaymentFrequency.QUARTERLY: 3, PaymentFrequency.YEARLY: 12}


class Copyleft(models.TextChoices):
    NONE = "", _("Not stated")
    STRONG = "strong", _("Strong")
    WEAK = "weak", _("Weak")
    NO = "no", _("No")


class Entitlement(TenantModel):
    type = models.CharField(max_length=16, choices=EntitlementType.choices, default=EntitlementType.LICENSE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    repository = models.ForeignKey(Repository, on_delete=models.PROTECT, related_name="entitlements")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(_("product SKU"), max_length=100, blank=True)
    license_model = models.CharField(_("license model"), max_length=200, blank=True)
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
    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.SET_NULL, related_name="entitlements",
                                 verbose_name=_("agreement"))
    purchase_line = models.ForeignKey("receiving.PurchaseLine", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="entitlements")
    invoice_number = models.CharField(_("invoice number"), max_length=100, blank=True)
    po_number = models.CharField(_("purchase order number"), max_length=100, blank=True)
    supplier = models.CharField(_("direct supplier number"), max_length=200, blank=True)
    cost_center = models.CharField(_("cost center"), max_length=64, blank=True)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    covers = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="maintained_by",
                                    help_text="for a maintenance: the licenses it covers")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # --- basic information ----------------------------------------------------------------------
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    management_group = models.ForeignKey(ManagementGroup, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="entitlements", verbose_name=_("management group"))
    identifier = models.CharField(_("custom identifier"), max_length=100, blank=True)
    comments = models.TextField(_("comments"), blank=True)
    # The product as the user described it; mirrors ``product`` when a catalog product is chosen.
    vendor = models.CharField(_("vendor"), max_length=200, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    version_type = models.CharField(_("version type"), max_length=16, choices=VersionType.choices,
                                    default=VersionType.ALL)
    version = models.CharField(_("version"), max_length=100, blank=True)
    edition = models.CharField(_("edition"), max_length=100, blank=True)
    from_sku = models.BooleanField(_("derived from SKU"), default=False,
                                   help_text=_("product, license model, term and rights come from the SKU"))
    other_metric = models.CharField(_("other metric"), max_length=100, blank=True)
    duration_months = models.PositiveIntegerField(_("duration (months)"), null=True, blank=True)
    # --- rights ------------------------------------------------------------------------------------
    multi_instance = models.BooleanField(_("multi instance"), default=False)
    secondary_use_count = models.PositiveIntegerField(_("secondary use count"), default=0)
    # --- costs ---------------------------------------------------------------------------------------
    payment_frequency = models.CharField(_("payment frequency"), max_length=16, choices=PaymentFrequency.choices,
                                         default=PaymentFrequency.ONCE)
    cost = models.DecimalField(_("license cost"), max_digits=18, decimal_places=2, null=True, blank=True,
                               help_text=_("computed: total × unit cost × number of payments"))
    # --- audit & exclusions ------------------------------------------------------------------------
    auditor_details = models.TextField(_("auditor details"), blank=True)
    audit_scope = models.TextField(_("audit scope"), blank=True)
    audit_clause = models.TextField(_("audit clause"), blank=True)
    audit_frequency_months = models.PositiveIntegerField(_("audit frequency (months)"), null=True, blank=True)
    audit_notice_days = models.PositiveIntegerField(_("audit notice period (days)"), null=True, blank=True)
    audit_tool = models.CharField(_("audit tool"), max_length=200, blank=True)
    # --- additional information ----------------------------------------------------------------------
    business_unit = models.CharField(_("business unit"), max_length=200, blank=True)
    sponsor = models.CharField(_("sponsor"), max_length=200, blank=True)
    invoice_line = models.CharField(_("invoice line item"), max_length=32, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)
    po_line = models.CharField(_("purchase order line item"), max_length=32, blank=True)
    po_date = models.DateField(_("purchase order date"), null=True, blank=True)
    supplier_line = models.CharField(_("direct supplier line item"), max_length=32, blank=True)
    supplier_date = models.DateField(_("direct supplier date"), null=True, blank=True)
    internal_order_number = models.CharField(_("internal order number"), max_length=100, blank=True)
    internal_order_line = models.CharField(_("internal order line item"), max_length=32, blank=True)
    internal_order_date = models.DateField(_("internal order date"), null=True, blank=True)
    licensor_number = models.CharField(_("licensor number"), max_length=200, blank=True)
    licensor_line = models.CharField(_("licensor line item"), max_length=200, blank=True)
    licensor_date = models.DateField(_("licensor date"), null=True, blank=True)
    # --- FOSS ----------------------------------------------------------------------------------------
    is_foss = models.BooleanField(_("is FOSS"), default=False)
    copyleft = models.CharField(_("copyleft"), max_length=8, choices=Copyleft.choices, blank=True)
    trademark_restrictions = models.TextField(_("trademark restrictions"), blank=True)
    # --- chains --------------------------------------------------------------------------------------
    upgrades = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="upgraded_by",
                                 verbose_name=_("upgrades license"),
                                 help_text=_("for an upgrade license: the license it upgrades"))
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="superseded_by", verbose_name=_("supersedes"),
                                   help_text=_("a metric conversion: the entitlement this one replaces"))
    # --- provenance ----------------------------------------------------------------------------------
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    modified_by_user = models.BooleanField(
        default=False, help_text="set once a person changes the entitlement after it was created (by a transfer)")
    published_at = models.DateTimeField(null=True, blank=True)
    import_key = models.CharField(max_length=80, blank=True, db_index=True,
                                  help_text="identifies the imported row, so a re-import changes nothing")

    class Meta:
        indexes = [models.Index(fields=["tenant", "status", "product"]), models.Index(fields=["tenant", "repository"]),
                   models.Index(fields=["tenant", "state"]), models.Index(fields=["tenant", "end_date"])]
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__isnull=True) | models.Q(quantity__gte=0),
                                   name="entitlement_quantity_not_negative",
                                   violation_error_message=_("The quantity cannot be negative.")),
            models.CheckConstraint(condition=models.Q(units__gt=0), name="entitlement_units_positive",
                                   violation_error_message=_("Units per license must be more than zero.")),
        ]

    def __str__(self) -> str:
        label = self.identifier or (str(self.product) if self.product_id else self.title or self.sku)
        return f"{self.get_type_display()} #{self.pk} {label}"

    @property
    def changed_since_transfer(self) -> bool:
        return self.modified_by_user

    @property
    def display_vendor(self) -> str:
        return self.product.publisher.name if self.product_id else self.vendor

    @property
    def display_title(self) -> str:
        return self.product.title if self.product_id else self.title

    @property
    def display_version(self) -> str:
        return self.product.version if self.product_id else self.version

    @property
    def display_edition(self) -> str:
        return self.product.edition if self.product_id else self.edition

    @property
    def metric_label(self) -> str:
        if self.metric == "other" and self.other_metric:
            return self.other_metric
        return self.get_metric_display()

    @property
    def total(self) -> Decimal | None:
        """Licenses × units per license; None when unlimited (it then covers every installation)."""
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


def document_upload_to(instance: Document, filename: str) -> str:
    return f"entitlements/{instance.tenant_id}/{dt.date.today():%Y/%m}/{filename}"


class Document(TenantModel):
    """A file kept as proof of ownership: attached to an agreement or to one entitlement."""

    contract = models.ForeignKey(Contract, null=True, blank=True, on_delete=models.CASCADE, related_name="documents")
    entitlement = models.ForeignKey(Entitlement, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="documents")
    file = models.FileField(_("file"), upload_to=RandomName("entitlements"), max_length=300)
    name = models.CharField(_("name"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(contract__isnull=False) | models.Q(entitlement__isnull=False),
                                   name="document_has_owner",
                                   violation_error_message=_("A document belongs to an agreement or an entitlement.")),
        ]

    def __str__(self) -> str:
        return self.name or self.file.name


class LicenseKey(TenantModel):
    """A product key or activation code that belongs to one entitlement (shown masked except to admins)."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="license_keys")
    key = models.CharField(_("license key"), max_length=500)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        visible = self.key[-4:] if len(self.key) > 8 else ""
        return "•" * max(4, len(self.key) - len(visible)) + visible
