"""Tables of the requirement pages (django-tables2); related columns are select_related by the views."""
from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from requirements_engine.models import Requirement
from requirements_engine.selectors_requirements import format_quantity
from sam.lists import SelectionColumn


class ConsumerColumn(tables.Column):
    """The consumer's name (device name or username), linking to the requirement; exports the plain name."""

    def __init__(self, **kwargs):
        kwargs.setdefault("accessor", "consumer_key")
        kwargs.setdefault("order_by", ("device__name", "person__username"))
        super().__init__(**kwargs)

    @staticmethod
    def _name(record) -> str:
        return record.device.name if record.device_id else (record.person.username if record.person_id else "")

    def render(self, value, record, table):
        request = getattr(table, "request", None)
        name = self._name(record)
        if request is None or getattr(request, "tenant", None) is None:
            return name
        url = reverse("requirements:detail", kwargs={"tenant": request.tenant.slug, "pk": record.pk})
        return format_html('<a href="{}">{}</a>', url, name)

    def value(self, value, record):
        return self._name(record)


class QuantityColumn(tables.Column):
    def __init__(self, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "num"}, "th": {"class": "num"}})
        super().__init__(**kwargs)

    def render(self, value):
        return format_quantity(value)

    def value(self, value):
        return format_quantity(value)


class RequirementTable(tables.Table):
    consumer = ConsumerColumn(verbose_name=_("Consumer"))
    consumer_type = tables.Column(verbose_name=_("Consumer type"))
    publisher = tables.Column(accessor="product__publisher__name", verbose_name=_("Publisher"))
    product = tables.Column(accessor="product__title", verbose_name=_("Product"))
    version = tables.Column(accessor="product__version", verbose_name=_("Version"))
    edition = tables.Column(accessor="product__edition", verbose_name=_("Edition"))
    license_model = tables.Column(verbose_name=_("License model"))
    quantity = QuantityColumn(verbose_name=_("Quantity"))
    confirmation = tables.Column(verbose_name=_("Confirmation"))
    effective = tables.BooleanColumn(verbose_name=_("Effective"))
    is_secondary = tables.BooleanColumn(verbose_name=_("Secondary"))
    manual = tables.BooleanColumn(verbose_name=_("Manual"))
    foundation_count = tables.Column(verbose_name=_("Foundations"), attrs={"td": {"class": "num"}})
    expression = tables.Column(verbose_name=_("Expression"))
    error = tables.Column(verbose_name=_("Error"))
    note = tables.Column(verbose_name=_("Note"))

    class Meta:
        model = Requirement
        fields = ()
        sequence = ("consumer", "consumer_type", "publisher", "product", "version", "edition", "license_model",
                    "quantity", "confirmation", "effective", "is_secondary", "manual", "foundation_count",
                    "expression", "error", "note")
        default_columns = ("consumer", "publisher", "product", "version", "edition", "license_model", "quantity",
                           "confirmation", "is_secondary", "foundation_count", "error")
        attrs = {"class": "data"}


class QueueTable(RequirementTable):
    selection = SelectionColumn()

    class Meta(RequirementTable.Meta):
        sequence = ("selection", *RequirementTable.Meta.sequence)
