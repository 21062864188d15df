"""Forms of the tenant amendments. Choices that depend on the tenant are filled in ``__init__``."""
from __future__ import annotations

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from catalog.models import (
    Classification,
    TenantBundleComponent,
    TenantEditionRank,
    TenantFingerprintRule,
    TenantLicenseModel,
    TenantProcessorModel,
    TenantProductAssignment,
    TenantProductTerms,
    TenantSku,
    TenantSkuAlias,
)
from catalog.selectors import license_models_effective, products_visible


class ProductPicker(forms.Select):
    """A product select that renders only the chosen option plus a search box filling it over HTMX.

    The catalog may hold tens of thousands of products; the options come from
    ``catalog:autocomplete-products`` as the user types.
    """

    template_name = "catalog/widgets/product_picker.html"

    def __init__(self, *args, search_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.search_url = search_url

    def optgroups(self, name, value, attrs=None):
        # Only the chosen product is rendered (one query by pk), never the whole catalog.
        chosen = [str(v) for v in value if str(v).isdigit()]
        empty_label = getattr(getattr(self.choices, "field", None), "empty_label", None) or ""
        options = [self.create_option(name, "", empty_label, not chosen, 0)]
        queryset = getattr(self.choices, "queryset", None)
        if chosen and queryset is not None:
            for index, obj in enumerate(queryset.filter(pk__in=chosen), start=1):
                options.append(self.create_option(name, obj.pk, str(obj), True, index))
        return [(None, options, 0)]

    def get_context(self, name, value, attrs):
        ctx = super().get_context(name, value, attrs)
        ctx["widget"]["search_url"] = self.search_url
        return ctx


def _product_field(tenant, *, required: bool) -> forms.ModelChoiceField:
    search_url = reverse("catalog:autocomplete-products", kwargs={"tenant": tenant.slug})
    return forms.ModelChoiceField(
        queryset=products_visible(tenant=tenant).select_related("publisher"), required=required,
        label=_("Product"), widget=ProductPicker(search_url=search_url),
        empty_label=_("— search and choose a product —"))


def _model_choices(tenant) -> list[tuple[str, str]]:
    return [("", "—")] + [(name, name) for name in license_models_effective(tenant=tenant)]


class TenantSkuForm(forms.ModelForm):
    class Meta:
        model = TenantSku
        fields = ("part_number", "description", "product", "license_type", "license_model", "units", "term_months",
                  "version_downgrade", "version_upgrade", "edition_downgrade", "list_price", "currency")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"] = _product_field(tenant, required=True)
        self.fields["license_model"] = forms.ChoiceField(choices=_model_choices(tenant), required=False,
                                                         label=_("License model"))


class TenantSkuAliasForm(forms.ModelForm):
    class Meta:
        model = TenantSkuAlias
        fields = ("alias", "part_number")
        labels = {"alias": _("Alias (the code your suppliers use)"), "part_number": _("Catalog part number")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)


class TenantLicenseModelForm(forms.ModelForm):
    class Meta:
        model = TenantLicenseModel
        fields = ("name", "assignment", "metric", "effective", "quantity", "rounding", "description")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"quantity": _("Names: processors, cores, cores_per_processor, threads, vcpus, core_factor, "
                                    "pvu_per_core, ram_gb, is_virtual, is_server; functions ceil, floor, min, max, "
                                    "round; e.g. max(cores_per_processor, 4) * processors")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)


class TenantFingerprintRuleForm(forms.ModelForm):
    class Meta:
        model = TenantFingerprintRule
        fields = ("publisher", "name", "version", "classification", "product")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"] = _product_field(tenant, required=False)
        self.fields["classification"].choices = [c for c in Classification.choices]


class ClassifyForm(forms.Form):
    classification = forms.ChoiceField(choices=[(Classification.PRODUCT, Classification.PRODUCT.label),
                                                (Classification.IRRELEVANT, Classification.IRRELEVANT.label),
                                                (Classification.UNKNOWN, Classification.UNKNOWN.label)])
    product = forms.IntegerField(required=False)


# --- rules: product terms, edition ranks, processors, assignments, bundles ---------------------------


class TenantProductTermsForm(forms.ModelForm):
    class Meta:
        model = TenantProductTerms
        fields = ["product", "default_license_model", "min_entitlement_days", "confirmation", "second_copy",
                  "version_downgrade", "version_upgrade", "edition_downgrade", "multi_instance"]
        # Eligible license models exist only where the license-rights work added the field.
        if any(f.name == "eligible_license_models" for f in TenantProductTerms._meta.get_fields()):
            fields.insert(2, "eligible_license_models")
        labels = {"second_copy": _("Second copy (a portable device of the primary user is free)"),
                  "confirmation": _("Confirmation of requirements")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"] = _product_field(tenant, required=True)
        self.fields["default_license_model"] = forms.ChoiceField(choices=_model_choices(tenant), required=False,
                                                                 label=_("Default license model"))


class TenantEditionRankForm(forms.ModelForm):
    class Meta:
        model = TenantEditionRank
        fields = ("publisher", "title", "edition", "rank")
        labels = {"title": _("Product"), "rank": _("Rank (a higher rank covers lower ones)")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)


class TenantProcessorForm(forms.ModelForm):
    class Meta:
        model = TenantProcessorModel
        fields = ("model", "core_factor", "pvu_per_core", "max_sockets")
        labels = {"model": _("Processor model (* wildcards)"), "core_factor": _("Core factor (Oracle)"),
                  "pvu_per_core": _("PVU per core (IBM)"), "max_sockets": _("Up to sockets (empty = any)")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)


class TenantAssignmentForm(forms.ModelForm):
    class Meta:
        model = TenantProductAssignment
        fields = ("kind", "key", "product", "source_product")
        labels = {"key": _("Group, executable or service"),
                  "source_product": _("Required by (dependency rules only)")}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"] = _product_field(tenant, required=True)
        self.fields["source_product"] = _product_field(tenant, required=False)
        self.fields["source_product"].label = _("Required by (dependency rules only)")
        self.fields["key"].required = False


class TenantBundleForm(forms.ModelForm):
    class Meta:
        model = TenantBundleComponent
        fields = ("bundle", "component")

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bundle"] = _product_field(tenant, required=True)
        self.fields["bundle"].label = _("Suite")
        self.fields["component"] = _product_field(tenant, required=True)
        self.fields["component"].label = _("Component")
