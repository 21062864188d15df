"""Tables of the license inventory (django-tables2): every column a user may pick, a default set."""
from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from entitlements.models import Contract, Entitlement, State
from sam.lists import SelectionColumn
from sam.templatetags.figures import money, quantity

STATE_BADGE = {State.DRAFT: "", State.DRAFT_ERRORS: "bad", State.DRAFT_WARNINGS: "warn", State.PUBLISHED: "ok",
               State.INVALID: "bad"}


class EntitlementTable(tables.Table):
    selection = SelectionColumn()
    id = tables.Column(verbose_name=_("#"), attrs={"td": {"class": "num"}})
    state = tables.Column(verbose_name=_("Status"))
    vendor = tables.Column(verbose_name=_("Vendor"))
    title = tables.Column(verbose_name=_("Title"))
    version = tables.Column(verbose_name=_("Version"))
    edition = tables.Column(verbose_name=_("Edition"))
    type = tables.Column(verbose_name=_("Type"))
    metric = tables.Column(verbose_name=_("Metric"))
    sku = tables.Column(verbose_name=_("Product SKU"))
    license_model = tables.Column(verbose_name=_("License model"))
    quantity = tables.Column(verbose_name=_("Quantity"), attrs={"td": {"class": "num"}})
    units = tables.Column(verbose_name=_("Units"), attrs={"td": {"class": "num"}})
    total_units = tables.Column(verbose_name=_("Total"), attrs={"td": {"class": "num"}})
    term = tables.Column(verbose_name=_("Term"))
    start_date = tables.DateColumn(verbose_name=_("Start date"), format="Y-m-d")
    end_date = tables.DateColumn(verbose_name=_("End date"), format="Y-m-d")
    unit_cost = tables.Column(verbose_name=_("Unit cost"), attrs={"td": {"class": "num"}})
    currency = tables.Column(verbose_name=_("Currency"))
    cost = tables.Column(verbose_name=_("Cost"), attrs={"td": {"class": "num"}})
    management_group = tables.Column(verbose_name=_("Management group"), accessor="management_group__name",
                                     order_by="management_group__name")
    identifier = tables.Column(verbose_name=_("Identifier"))
    contract = tables.Column(verbose_name=_("Agreement"), accessor="contract__number", order_by="contract__number")
    repository = tables.Column(verbose_name=_("Repository"), accessor="repository__name", order_by="repository__name")
    links = tables.Column(verbose_name=_("Links"), empty_values=(), orderable=False)
    errors = tables.Column(verbose_name=_("Errors"), orderable=False)
    warnings = tables.Column(verbose_name=_("Warnings"), orderable=False)

    class Meta:
        model = Entitlement
        fields = ()
        attrs = {"class": "data striped"}
        default_columns = ("state", "vendor", "title", "version", "edition", "type", "metric", "sku", "quantity",
                           "cost", "end_date", "management_group", "identifier")
        order_by = ("-id",)

    @property
    def tenant_slug(self) -> str:
        tenant = getattr(getattr(self, "request", None), "tenant", None)
        return tenant.slug if tenant is not None else ""

    def _url(self, record) -> str:
        return reverse("entitlements:edit", kwargs={"tenant": self.tenant_slug, "pk": record.pk})

    def render_id(self, record, value):
        if not self.tenant_slug:
            return value
        return format_html('<a href="{}">{}</a>', self._url(record), value)

    def render_state(self, record, value):
        return format_html('<span class="badge {}" data-state="{}">{}</span>', STATE_BADGE.get(value, ""), value,
                           record.get_state_display())

    def value_state(self, record, value):
        return record.state

    def render_title(self, record, value):
        if not self.tenant_slug:
            return value
        return format_html('<a href="{}">{}</a>', self._url(record), value)

    def render_metric(self, record, value):
        return record.metric_label

    def render_type(self, record, value):
        return record.get_type_display()

    def value_type(self, record, value):
        return record.type

    def render_term(self, record, value):
        return record.get_term_display()

    def value_term(self, record, value):
        return record.term

    def render_links(self, record):
        parts = []
        if record.upgrades_id:
            parts.append(f"↑#{record.upgrades_id}")
        if record.supersedes_id:
            parts.append(f"⇄#{record.supersedes_id}")
        if record.purchase_line_id:
            parts.append(_("purchase line"))
        return " ".join(str(p) for p in parts) or "—"

    def value_links(self, record):
        parts = []
        if record.upgrades_id:
            parts.append(f"upgrades #{record.upgrades_id}")
        if record.supersedes_id:
            parts.append(f"supersedes #{record.supersedes_id}")
        return "; ".join(parts)

    # On the page figures are formatted by kind (money with currency, units without stray decimals);
    # exports keep the plain values (as_values does not call render_*).
    def render_quantity(self, value):
        return quantity(value)

    def render_units(self, value):
        return quantity(value)

    def render_total_units(self, value):
        return quantity(value)

    def render_unit_cost(self, value, record):
        return money(value, record.currency)

    def render_cost(self, value, record):
        return money(value, record.currency)

    def value_quantity(self, value):
        return value

    def value_units(self, value):
        return value

    def value_total_units(self, value):
        return value

    def value_unit_cost(self, value):
        return value

    def value_cost(self, value):
        return value

    def render_errors(self, value):
        return ", ".join(value)

    def value_errors(self, value):
        return ",".join(value or [])

    def render_warnings(self, value):
        return ", ".join(value)

    def value_warnings(self, value):
        return ",".join(value or [])


class ContractTable(tables.Table):
    number = tables.Column(verbose_name=_("Agreement number"))
    publisher = tables.Column(verbose_name=_("Publisher"), accessor="publisher__name", order_by="publisher__name")
    name = tables.Column(verbose_name=_("Name"))
    start_date = tables.DateColumn(verbose_name=_("Start date"), format="Y-m-d")
    end_date = tables.DateColumn(verbose_name=_("End date"), format="Y-m-d")
    entitlement_count = tables.Column(verbose_name=_("Entitlements"), attrs={"td": {"class": "num", "data-kind": "count"}})
    document_count = tables.Column(verbose_name=_("Documents"), attrs={"td": {"class": "num"}})

    class Meta:
        model = Contract
        fields = ()
        attrs = {"class": "data striped"}
        default_columns = ("number", "publisher", "name", "start_date", "end_date", "entitlement_count",
                           "document_count")

    @property
    def tenant_slug(self) -> str:
        tenant = getattr(getattr(self, "request", None), "tenant", None)
        return tenant.slug if tenant is not None else ""

    def render_number(self, record, value):
        if not self.tenant_slug:
            return value
        url = reverse("entitlements:contract", kwargs={"tenant": self.tenant_slug, "pk": record.pk})
        return format_html('<a href="{}">{}</a>', url, value)
