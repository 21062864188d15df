"""Forms of the license inventory. Choices that depend on the tenant are filled in ``__init__``."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalog.models import Metric
from entitlements.models import Contract, Entitlement, EntitlementType, Repository, Term
from entitlements.services import SKU_LOCKED_FIELDS

EDITOR_METRICS = [(m.value, m.label) for m in (Metric.CORE, Metric.DEVICE, Metric.OTHER, Metric.PROCESSOR, Metric.PVU,
                                               Metric.USER)]
CURRENCIES = ["", "EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "INR", "CNY"]

# Sections of the editor, in order: (anchor, title, fields).
SECTIONS = [
    ("basic", _("Basic information"), ("management_group_name", "identifier", "repository", "comments")),
    # SKU first: it decides the product, model, units and rights and suggests the price.
    ("product", _("Product"), ("sku", "vendor", "licensable_only", "title", "version_type", "version", "edition",
                               "license_model")),
    ("coverage", _("Coverage"), ("metric", "other_metric", "unlimited", "quantity", "units")),
    ("term", _("Entitlement term"), ("term", "start_date", "duration_months", "end_date")),
    ("rights", _("Rights"), ("version_upgrade", "version_downgrade", "edition_downgrade", "multi_instance",
                             "secondary_use_count")),
    ("costs", _("Costs"), ("currency", "payment_frequency", "unit_cost")),
    ("audit", _("Audit & exclusions"), ("auditor_details", "audit_scope", "audit_clause", "audit_frequency_months",
                                        "audit_notice_days", "audit_tool")),
    ("additional", _("Additional information"), (
        "business_unit", "sponsor", "cost_center", "invoice_number", "invoice_line", "invoice_date", "po_number",
        "po_line", "po_date", "supplier", "supplier_line", "supplier_date", "internal_order_number",
        "internal_order_line", "internal_order_date", "licensor_number", "licensor_line", "licensor_date")),
    ("foss", _("FOSS details"), ("is_foss", "copyleft", "trademark_restrictions")),
    ("links", _("Links"), ("contract", "upgrades_ref", "covers_refs")),
]

MODEL_FIELDS = [
    "identifier", "comments", "vendor", "sku", "title", "version_type", "version", "edition", "license_model",
    "metric", "other_metric", "unlimited", "quantity", "units", "term", "start_date", "duration_months", "end_date",
    "version_upgrade", "version_downgrade", "edition_downgrade", "multi_instance", "secondary_use_count",
    "currency", "payment_frequency", "unit_cost", "auditor_details", "audit_scope", "audit_clause",
    "audit_frequency_months", "audit_notice_days", "audit_tool", "business_unit", "sponsor", "cost_center",
    "invoice_number", "invoice_line", "invoice_date", "po_number", "po_line", "po_date", "supplier", "supplier_line",
    "supplier_date", "internal_order_number", "internal_order_line", "internal_order_date", "licensor_number",
    "licensor_line", "licensor_date", "is_foss", "copyleft", "trademark_restrictions", "contract", "repository",
]

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
COMPUTED = ("quantity", "units", "unlimited", "unit_cost", "payment_frequency", "term", "start_date",
            "duration_months", "end_date")


class EntitlementForm(forms.ModelForm):
    management_group_name = forms.CharField(label=_("Management group"), required=False, max_length=200)
    licensable_only = forms.BooleanField(label=_("Show licensable only"), required=False, initial=True)
    upgrades_ref = forms.IntegerField(label=_("Upgrades license #"), required=False, min_value=1,
                                      help_text=_("For an upgrade license: the number of the license it upgrades."))
    contract = forms.ModelChoiceField(queryset=None, required=False, label=_("Agreement"))
    repository = forms.ModelChoiceField(queryset=None, required=False, empty_label=None,
                                        label=_("Entitlement repository"))
    covers_refs = forms.CharField(label=_("Covers licenses #"), required=False,
                                  help_text=_("For a maintenance: the numbers of the licenses it covers, comma-separated."))

    class Meta:
        model = Entitlement
        fields = MODEL_FIELDS
        widgets = {
            "comments": forms.Textarea(attrs={"rows": 2}),
            "auditor_details": forms.Textarea(attrs={"rows": 2}),
            "audit_scope": forms.Textarea(attrs={"rows": 2}),
            "audit_clause": forms.Textarea(attrs={"rows": 2}),
            "trademark_restrictions": forms.Textarea(attrs={"rows": 2}),
            "start_date": DATE, "end_date": DATE, "invoice_date": DATE, "po_date": DATE, "supplier_date": DATE,
            "internal_order_date": DATE, "licensor_date": DATE,
        }

    def __init__(self, *args, tenant, kind: str, sku_values: dict | None = None, compute_url: str = "",
                 product_ac_url: str = "", sku_ac_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.kind = kind
        self.sku_values = sku_values
        self.fields["metric"].choices = [("", "---------"), *EDITOR_METRICS]
        if self.instance.metric and self.instance.metric not in dict(EDITOR_METRICS):
            self.fields["metric"].choices.append((self.instance.metric, self.instance.get_metric_display()))
        self.fields["currency"] = forms.ChoiceField(
            label=_("Currency"), required=False, choices=[(c, c or "---------") for c in CURRENCIES]
            + ([(self.instance.currency, self.instance.currency)] if self.instance.currency not in CURRENCIES else []))
        self.fields["contract"].queryset = Contract.objects.filter(tenant=tenant).select_related("publisher")
        self.fields["contract"].label = _("Agreement")
        self.fields["repository"].queryset = Repository.objects.filter(tenant=tenant)
        self.fields["units"].required = False
        if kind == EntitlementType.MAINTENANCE:
            self.fields["term"].choices = [(Term.SUBSCRIPTION.value, Term.SUBSCRIPTION.label)]
            self.fields["term"].initial = Term.SUBSCRIPTION
        else:
            self.fields["covers_refs"].widget = forms.HiddenInput()
        if self.instance.pk:
            self.fields["management_group_name"].initial = (self.instance.management_group.name
                                                            if self.instance.management_group_id else "")
            self.fields["upgrades_ref"].initial = self.instance.upgrades_id
            if kind == EntitlementType.MAINTENANCE:
                self.fields["covers_refs"].initial = ", ".join(
                    str(pk) for pk in self.instance.covers.values_list("pk", flat=True))
        # HTMX: the computed fields refresh when one of their inputs changes; a SKU refreshes the form.
        for name in COMPUTED:
            self.fields[name].widget.attrs.update({"hx-post": compute_url, "hx-trigger": "change",
                                                   "hx-swap": "none", "hx-include": "closest form"})
        self.fields["sku"].widget.attrs.update({
            "list": "sku-options", "autocomplete": "off", "hx-get": sku_ac_url, "hx-target": "#sku-options",
            "hx-trigger": "input changed delay:250ms", "hx-sync": "this:replace"})
        for name in ("vendor", "title", "version", "edition"):
            self.fields[name].widget.attrs.update({
                "list": f"{name}-options", "autocomplete": "off", "hx-get": product_ac_url,
                "hx-target": f"#{name}-options", "hx-trigger": "input changed delay:250ms, focus once",
                "hx-include": "[name=vendor],[name=title],[name=licensable_only]",
                "hx-vals": f'{{"field": "{name}"}}'})
        if sku_values:
            for name in SKU_LOCKED_FIELDS:
                if name in self.fields and name in sku_values:
                    value = sku_values[name]
                    self.initial[name] = value.pk if hasattr(value, "pk") else value
                    self.fields[name].disabled = True
            for name in ("version_upgrade", "version_downgrade", "edition_downgrade", "duration_months"):
                if name in sku_values and not self.is_bound:
                    self.initial[name] = sku_values[name]
            if "version" in sku_values:
                self.initial["version_type"] = "dot" if sku_values["version"] else "all"
        for name in ("vendor", "title"):
            self.fields[name].widget.attrs.setdefault("placeholder", "")

    @property
    def locked(self) -> list[str]:
        return [n for n, f in self.fields.items() if f.disabled]

    def clean_repository(self):
        repo = self.cleaned_data.get("repository")
        if repo is None:  # not posted: an edit stays where it is, a new one goes to Default
            repo = (self.instance.repository if self.instance.repository_id
                    else Repository.objects.filter(tenant=self.tenant, is_default=True).first())
        return repo

    def clean_upgrades_ref(self):
        ref = self.cleaned_data.get("upgrades_ref")
        if not ref:
            return None
        target = Entitlement.objects.filter(tenant=self.tenant, pk=ref, type=EntitlementType.LICENSE).first()
        if target is None or target.pk == self.instance.pk:
            raise forms.ValidationError(_("There is no other license #%(n)s.") % {"n": ref})
        return target

    def clean_covers_refs(self):
        text = self.cleaned_data.get("covers_refs") or ""
        ids = []
        for part in text.replace(";", ",").split(","):
            part = part.strip().lstrip("#")
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(_("%(p)s is not a license number.") % {"p": part})
            ids.append(int(part))
        found = list(Entitlement.objects.filter(tenant=self.tenant, pk__in=ids, type=EntitlementType.LICENSE))
        missing = sorted(set(ids) - {e.pk for e in found})
        if missing:
            raise forms.ValidationError(_("No license #%(n)s.") % {"n": ", #".join(map(str, missing))})
        return found

    def clean_unit_cost(self):
        value = self.cleaned_data.get("unit_cost")
        if value is not None and value < 0:
            raise forms.ValidationError(_("A cost cannot be negative."))
        return value

    def is_empty(self) -> bool:
        """Nothing that names what was bought: no SKU, product, vendor, title or identifier."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not any(data.get(name) for name in ("sku", "product", "vendor", "title", "identifier"))

    def clean(self):
        data = super().clean()
        if data.get("version_type") == "all":
            data["version"] = ""
        return data

    def service_data(self) -> dict:
        """The cleaned values as ``entitlement_create/update`` data (SKU-derived values win)."""
        data = {name: self.cleaned_data.get(name) for name in MODEL_FIELDS if name in self.cleaned_data}
        data["units"] = data.get("units") or 1
        if not data.get("repository"):
            data.pop("repository", None)  # new: the Default repository; edit: stays where it is
        data["upgrades"] = self.cleaned_data.get("upgrades_ref")
        if self.kind == "maintenance":
            data["covers"] = self.cleaned_data.get("covers_refs") or []
        data["type"] = self.kind
        data["currency"] = data.get("currency") or ""
        if self.sku_values:
            data.update({k: v for k, v in self.sku_values.items() if k in SKU_LOCKED_FIELDS or k == "sku"})
            data["from_sku"] = True
            if not data.get("duration_months") and not data.get("end_date") and self.sku_values.get("duration_months"):
                data["duration_months"] = self.sku_values["duration_months"]
        else:
            data["from_sku"] = False
        return data

    def sections(self):
        out = []
        for anchor, title, names in SECTIONS:
            out.append({"anchor": anchor, "title": title, "fields": [self[n] for n in names if n in self.fields]})
        return out


class ContractForm(forms.ModelForm):
    publisher_name = forms.CharField(label=_("Publisher"), required=False, max_length=200)

    class Meta:
        model = Contract
        fields = ["number", "name", "start_date", "end_date", "sponsor", "business_unit", "comments"]
        widgets = {"start_date": DATE, "end_date": DATE, "comments": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        if self.instance.pk and self.instance.publisher_id:
            self.fields["publisher_name"].initial = self.instance.publisher.name

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("The end date lies before the start date."))
        return data


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Document"), max_length=200)
    name = forms.CharField(label=_("Name"), required=False, max_length=300)

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data["file"]
        limit = getattr(settings, "SAM_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
        if upload.size > limit:
            raise forms.ValidationError(_("The file is larger than the limit of %(n)s bytes.") % {"n": limit})
        return upload


class LicenseKeyForm(forms.Form):
    key = forms.CharField(label=_("License key"), max_length=500)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class RepositoryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)


class ConvertForm(forms.Form):
    metric = forms.ChoiceField(label=_("New metric"), choices=EDITOR_METRICS)
    other_metric = forms.CharField(label=_("Other metric"), required=False, max_length=100)
    quantity = forms.DecimalField(label=_("New quantity"), min_value=0, max_digits=14, decimal_places=2)
    units = forms.DecimalField(label=_("Units"), min_value=0.01, max_digits=12, decimal_places=2, initial=1)
    license_model = forms.CharField(label=_("License model"), required=False, max_length=200)
