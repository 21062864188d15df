from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from receiving.models import DecimalSeparator
from receiving.validation import CANONICAL, DOWNGRADABLE, REASONS


class LineFixForm(forms.Form):
    """The correctable values of a waiting line (text, as in a file; validation reads them)."""

    sku = forms.CharField(label=_("Part number"), required=False, max_length=200)
    quantity = forms.CharField(label=_("Quantity"), required=False, max_length=40)
    unit_price = forms.CharField(label=_("Unit price"), required=False, max_length=40)
    currency = forms.CharField(label=_("Currency"), required=False, max_length=10)
    contract_number = forms.CharField(label=_("Contract"), required=False, max_length=100)
    cost_center = forms.CharField(label=_("Cost center"), required=False, max_length=64)
    requester_email = forms.CharField(label=_("Requester e-mail"), required=False, max_length=254)
    order_date = forms.CharField(label=_("Order date"), required=False, max_length=40)
    start_date = forms.CharField(label=_("Start date"), required=False, max_length=40)
    end_date = forms.CharField(label=_("End date"), required=False, max_length=40)
    po_number = forms.CharField(label=_("PO number"), required=False, max_length=100)
    po_line = forms.CharField(label=_("PO line"), required=False, max_length=32)


class RejectForm(forms.Form):
    note = forms.CharField(label=_("Why is the line rejected?"), max_length=500)


class AliasForm(forms.Form):
    alias = forms.CharField(label=_("Part number as received"), max_length=100)
    part_number = forms.CharField(label=_("Catalog SKU"), max_length=100)
    scope = forms.ChoiceField(label=_("Learn it"), required=False, initial="tenant",
                              choices=[("tenant", _("for this customer")), ("library", _("for all customers"))])
    supplier = forms.CharField(label=_("Only for lines from supplier"), required=False, max_length=200)

    def clean_scope(self) -> str:
        return self.cleaned_data.get("scope") or "tenant"


class BulkForm(forms.Form):
    """A bulk action on ticked lines or on all lines matching the queue's filters (``query``)."""

    action = forms.ChoiceField(label=_("Action"), choices=[
        ("reject", _("Reject")), ("recheck", _("Check again")), ("contract", _("Set contract")),
        ("cost_center", _("Set cost center")), ("assign", _("Assign to")), ("unassign", _("Release"))])
    value = forms.CharField(label=_("Value or note"), required=False, max_length=500)
    assignee = forms.CharField(label=_("Clerk"), required=False, max_length=150)
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        self.fields["selected"].choices = [(v, v) for v in data if str(v).isdigit()]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_matching") and not cleaned.get("selected"):
            raise forms.ValidationError(_("Tick lines, or choose all matching lines."))
        action, value = cleaned.get("action"), (cleaned.get("value") or "").strip()
        if action in ("reject", "contract", "cost_center") and not value:
            raise forms.ValidationError(_("Give the note or the value for this action."))
        if action == "assign" and not cleaned.get("assignee"):
            raise forms.ValidationError(_("Choose the clerk to assign the lines to."))
        return cleaned


class EntryForm(forms.Form):
    """Manual entry of one purchase (text as in a file: the same validation reads it)."""

    sku = forms.CharField(label=_("Part number"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, max_length=300)
    publisher = forms.CharField(label=_("Publisher"), required=False, max_length=200)
    quantity = forms.CharField(label=_("Quantity"), max_length=40)
    unit_price = forms.CharField(label=_("Unit price"), required=False, max_length=40)
    currency = forms.CharField(label=_("Currency"), required=False, max_length=10)
    supplier = forms.CharField(label=_("Supplier"), required=False, max_length=200)
    po_number = forms.CharField(label=_("PO number"), required=False, max_length=100)
    po_line = forms.CharField(label=_("PO line"), required=False, max_length=32)
    order_date = forms.CharField(label=_("Order date"), required=False, max_length=40)
    invoice_number = forms.CharField(label=_("Invoice number"), required=False, max_length=100)
    invoice_date = forms.CharField(label=_("Invoice date"), required=False, max_length=40)
    contract_number = forms.CharField(label=_("Contract"), required=False, max_length=100)
    cost_center = forms.CharField(label=_("Cost center"), required=False, max_length=64)
    requester_email = forms.CharField(label=_("Requester e-mail"), required=False, max_length=254)
    start_date = forms.CharField(label=_("Start date"), required=False, max_length=40)
    end_date = forms.CharField(label=_("End date"), required=False, max_length=40)


class CostCenterForm(forms.Form):
    cost_center = forms.CharField(label=_("Cost center"), max_length=64)
    selected = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        self.fields["selected"].choices = [(v, v) for v in data if str(v).isdigit()]


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Procurement file (CSV, TSV or XLSX)"))
    profile = forms.ChoiceField(label=_("Import profile"), required=False)

    def __init__(self, *args, profiles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profile"].choices = [("", _("— detect the columns —"))] + [(str(p.pk), p.name) for p in profiles]


class MappingOptionsForm(forms.Form):
    date_format = forms.CharField(label=_("Date format"), required=False, max_length=32,
                                  help_text=_("Empty for ISO dates (2026-03-31); e.g. %d.%m.%Y or %m/%d/%Y"))
    decimal_separator = forms.ChoiceField(label=_("Decimal separator"), choices=DecimalSeparator.choices)
    default_currency = forms.CharField(label=_("Currency when a line has none"), required=False, max_length=3)
    profile_name = forms.CharField(label=_("Save this mapping as profile"), required=False, max_length=100)


class SettingsForm(forms.Form):
    warnings = forms.MultipleChoiceField(
        label=_("Checks that only warn (the line transfers anyway)"), required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(code, f"{REASONS[code][1]} ({code})") for code in DOWNGRADABLE])
    require_contract = forms.BooleanField(label=_("Every line must name a contract"), required=False)
    as_draft = forms.BooleanField(label=_("Transfer lines as draft entitlements (someone publishes them)"),
                                  required=False)
    default_currency = forms.CharField(label=_("Currency when neither line nor profile gives one"), required=False,
                                       max_length=3)
    require_cost_center = forms.BooleanField(label=_("Every line must name a cost center"), required=False)
    clear_within_days = forms.IntegerField(label=_("Ageing target: lines are cleared within this many working days"),
                                           required=False, min_value=1, max_value=365)


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Name (the procurement system that uses it)"), max_length=100)


CANONICAL_CHOICES = [("", _("— ignore —"))] + [(c, c) for c in CANONICAL]
