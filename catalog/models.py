"""The catalog: identities (publishers, products) and the rules about them.

Rules come in pairs of tables built from one abstract base: the master catalog (``Sku``) that every
tenant reads and only staff edit, and the tenant's amendments (``TenantSku``), which win where both
define the same key. ``catalog.selectors`` overlays them; nothing else should read both.
"""
from __future__ import annotations

import re

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sam.models import Tenant, TenantModel


def version_key(version: str) -> str:
    """A sortable key for a version: dotted numbers compare numerically (2019 < 2021 < 2024, 9 < 10)."""
    parts = re.split(r"[.\-_ ]+", (version or "").strip().lower())
    out = []
    for part in parts:
        if part.isdigit():
            out.append(f"{int(part):010d}")
        else:
            m = re.match(r"^(\d+)(.*)$", part)
            out.append(f"{int(m.group(1)):010d}{m.group(2)}" if m else f"~{part}")
    return ".".join(out)


class Publisher(models.Model):
    """A software publisher. Master rows are shared; ``introduced_by`` marks a tenant's private one.

    A name is unique among the master's rows and within each tenant's private rows, so two tenants
    can each have a private publisher of the same name without seeing each other's.
    """

    name = models.CharField(_("name"), max_length=200)
    introduced_by = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], condition=models.Q(introduced_by__isnull=True),
                                    name="publisher_unique_master_name",
                                    violation_error_message=_("This publisher already exists.")),
            models.UniqueConstraint(fields=["introduced_by", "name"], condition=models.Q(introduced_by__isnull=False),
                                    name="publisher_unique_private_name",
                                    violation_error_message=_("This publisher already exists.")),
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Publisher × title × version × edition: one position in the license balance.

    Master rows (``introduced_by`` empty) are shared; a tenant's private rows are unique per tenant.
    """

    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="products")
    title = models.CharField(_("title"), max_length=200)
    version = models.CharField(_("version"), max_length=100, blank=True)
    edition = models.CharField(_("edition"), max_length=100, blank=True)
    version_sort = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    release_date = models.DateField(_("release date"), null=True, blank=True)
    introduced_by = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["publisher", "title", "version", "edition"],
                                    condition=models.Q(introduced_by__isnull=True), name="product_unique_identity",
                                    violation_error_message=_("This product already exists.")),
            models.UniqueConstraint(fields=["introduced_by", "publisher", "title", "version", "edition"],
                                    condition=models.Q(introduced_by__isnull=False),
                                    name="product_unique_private_identity",
                                    violation_error_message=_("This product already exists.")),
        ]
        indexes = [models.Index(fields=["publisher", "title"])]
        ordering = ["publisher__name", "title", "version_sort", "edition"]

    def __str__(self) -> str:
        return " ".join(p for p in (self.publisher.name if self.publisher_id else "", self.title, self.version,
                                    self.edition) if p)

    def save(self, *args, **kwargs):
        self.version_sort = version_key(self.version)
        super().save(*args, **kwargs)


class LicenseType(models.TextChoices):
    FULL = "full", _("Full")
    UPGRADE = "upgrade", _("Upgrade")
    MAINTENANCE = "maintenance", _("Maintenance")
    SUBSCRIPTION = "subscription", _("Subscription")


class Confirmation(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    MANUAL = "manual", _("Manual")


class Assignment(models.TextChoices):
    DEVICE = "device", _("Device")
    DEVICE_SECOND_COPY = "device_second_copy", _("Device with second copy")
    NAMED_USER = "named_user", _("Named user")
    OSE = "ose", _("Operating system environment")
    NONE = "none", _("None")


class Metric(models.TextChoices):
    DEVICE = "device", _("Device")
    USER = "user", _("User")
    CORE = "core", _("Core")
    PROCESSOR = "processor", _("Processor")
    PVU = "pvu", _("PVU")
    OSE = "ose", _("OSE")
    CONCURRENT = "concurrent", _("Concurrent user")
    OTHER = "other", _("Other")


class Rounding(models.TextChoices):
    CONSUMER = "consumer", _("Round up each requirement")
    POSITION = "position", _("Round up per position and core factor")


class Classification(models.TextChoices):
    PRODUCT = "product", _("Assigned to a product")
    IRRELEVANT = "irrelevant", _("Ignored as irrelevant")
    UNKNOWN = "unknown", _("Unknown")


class AssignmentKind(models.TextChoices):
    GROUP = "group", _("Group")
    EXECUTABLE = "executable", _("Executable")
    SERVICE = "service", _("Service")
    DEPENDENCY = "dependency", _("Dependency rule")


# --- abstract rule tables ---------------------------------------------------------------------


class ProductTermsBase(models.Model):
    """Product use rights and settings of a product (default license model, periods, confirmation)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    default_license_model = models.CharField(_("default license model"), max_length=200, blank=True)
    min_entitlement_days = models.PositiveIntegerField(_("minimum entitlement period (days)"), default=0)
    confirmation = models.CharField(max_length=16, choices=Confirmation.choices, default=Confirmation.AUTOMATIC)
    version_downgrade = models.BooleanField(default=True)
    version_upgrade = models.BooleanField(default=False)
    edition_downgrade = models.BooleanField(default=False)
    second_copy = models.BooleanField(default=False)
    multi_instance = models.BooleanField(default=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"terms of product #{self.product_id}"


class EditionRankBase(models.Model):
    publisher = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    edition = models.CharField(max_length=100)
    rank = models.IntegerField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.publisher} {self.title} {self.edition} = {self.rank}"


class LicenseModelBase(models.Model):
    name = models.CharField(_("name"), max_length=200)
    assignment = models.CharField(max_length=32, choices=Assignment.choices, default=Assignment.DEVICE)
    metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.DEVICE)
    effective = models.BooleanField(default=True)
    quantity = models.CharField(_("quantity expression"), max_length=500, default="1")
    rounding = models.CharField(max_length=16, choices=Rounding.choices, default=Rounding.CONSUMER)
    description = models.TextField(blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The quantity expression must parse and use only the known names (see catalog.expressions)."""
        from django.core.exceptions import ValidationError

        from catalog.expressions import ExpressionError, validate_expression

        try:
            self.quantity = validate_expression(self.quantity or "1")
        except ExpressionError as exc:
            raise ValidationError({"quantity": _("The quantity expression is not valid: %(e)s") % {"e": exc}}) from exc


class SkuBase(models.Model):
    part_number = models.CharField(_("part number"), max_length=100)
    description = models.CharField(max_length=300, blank=True)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    license_type = models.CharField(max_length=16, choices=LicenseType.choices, default=LicenseType.FULL)
    license_model = models.CharField(max_length=200, blank=True)
    units = models.DecimalField(max_digits=12, decimal_places=2, default=1)
    term_months = models.PositiveIntegerField(null=True, blank=True)
    version_downgrade = models.BooleanField(default=True)
    version_upgrade = models.BooleanField(default=False)
    edition_downgrade = models.BooleanField(default=False)
    list_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.part_number


class SkuAliasBase(models.Model):
    """A reseller's part number that means a catalog SKU.

    With ``supplier`` set the alias applies only to lines from that supplier (compared ignoring case);
    empty means every supplier. The master table is the clearing service's alias library, which every
    tenant uses below its own aliases (``catalog.selectors.sku_resolve_lines``).
    """

    alias = models.CharField(max_length=100)
    part_number = models.CharField(max_length=100, help_text="the catalog SKU it means")
    supplier = models.CharField(max_length=200, blank=True, default="",
                                help_text="only for lines from this supplier; empty = any supplier")
    created_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.alias} → {self.part_number}" + (f" ({self.supplier})" if self.supplier else "")


class BundleComponentBase(models.Model):
    bundle = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    component = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"bundle #{self.bundle_id} ∋ #{self.component_id}"


class FingerprintRuleBase(models.Model):
    publisher = models.CharField(max_length=200, help_text="* wildcards")
    name = models.CharField(max_length=300, help_text="* wildcards")
    version = models.CharField(max_length=100, default="*")
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.PRODUCT)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return " · ".join((self.publisher, self.name, self.version or "*"))


class ProcessorModelBase(models.Model):
    model = models.CharField(max_length=200, help_text="* wildcards")
    core_factor = models.DecimalField(max_digits=6, decimal_places=3, null=True, blank=True)
    pvu_per_core = models.PositiveIntegerField(null=True, blank=True)
    max_sockets = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.model + (f" (≤ {self.max_sockets} sockets)" if self.max_sockets else "")


class ProductAssignmentBase(models.Model):
    """What links a configuration (group, executable, service, another product) to a product."""

    kind = models.CharField(max_length=16, choices=AssignmentKind.choices)
    key = models.CharField(max_length=300, blank=True, help_text="group, executable or service name")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    source_product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                                       help_text="for a dependency rule: the product that brings this one")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}".strip()


# --- master tables (global) -------------------------------------------------------------------


class ProductTerms(ProductTermsBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["product"], name="productterms_unique")]


class EditionRank(EditionRankBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["publisher", "title", "edition"], name="editionrank_unique")]


class LicenseModel(LicenseModelBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["name"], name="licensemodel_unique_name")]
        ordering = ["name"]


class Sku(SkuBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["part_number"], name="sku_unique_part_number")]
        ordering = ["part_number"]


class SkuAlias(SkuAliasBase):
    """The service-level alias library (see ``catalog.aliases``)."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alias", "supplier"], name="skualias_unique")]


class BundleComponent(BundleComponentBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["bundle", "component"], name="bundle_unique")]


class FingerprintRule(FingerprintRuleBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["publisher", "name", "version"], name="fprule_unique")]


class ProcessorModel(ProcessorModelBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "max_sockets"], name="processor_unique")]


class ProductAssignment(ProductAssignmentBase):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key", "product", "source_product"],
                                               name="assignment_unique")]


# --- tenant amendments ------------------------------------------------------------------------


class TenantProductTerms(ProductTermsBase, TenantModel):
    # The tenant's own release date of a shared product (a tenant never writes the master's row).
    release_date = models.DateField(_("release date"), null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "product"], name="t_productterms_unique")]


class TenantEditionRank(EditionRankBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "publisher", "title", "edition"],
                                               name="t_editionrank_unique")]


class TenantLicenseModel(LicenseModelBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="t_licensemodel_unique_name")]
        ordering = ["name"]


class TenantSku(SkuBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "part_number"], name="t_sku_unique_part_number")]
        ordering = ["part_number"]


class TenantSkuAlias(SkuAliasBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "alias", "supplier"], name="t_skualias_unique")]


class TenantBundleComponent(BundleComponentBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "bundle", "component"], name="t_bundle_unique")]


class TenantFingerprintRule(FingerprintRuleBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "publisher", "name", "version"],
                                               name="t_fprule_unique")]


class TenantProcessorModel(ProcessorModelBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "model", "max_sockets"], name="t_processor_unique")]


class TenantProductAssignment(ProductAssignmentBase, TenantModel):
    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "kind", "key", "product", "source_product"],
                                               name="t_assignment_unique")]
