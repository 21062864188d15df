"""Tables of the catalog lists (django-tables2). Related columns are select_related by the view."""
from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from catalog.models import Product


class ProductTable(tables.Table):
    publisher = tables.Column(accessor="publisher__name", verbose_name=_("Publisher"), order_by=("publisher__name",))
    title = tables.Column(verbose_name=_("Product"))
    version = tables.Column(verbose_name=_("Version"), order_by=("version_sort",))
    edition = tables.Column(verbose_name=_("Edition"))
    release_date = tables.DateColumn(verbose_name=_("Released"), format="Y-m-d")
    default_model = tables.Column(verbose_name=_("Default license model"), orderable=True)
    sku_count = tables.Column(verbose_name=_("SKUs"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    origin = tables.Column(accessor="introduced_by_id", verbose_name=_("Origin"), orderable=False)

    class Meta:
        model = Product
        fields = ("publisher", "title", "version", "edition", "release_date", "default_model", "sku_count", "origin")
        default_columns = ("publisher", "title", "version", "edition", "default_model", "sku_count")
        attrs = {"class": "data"}
        order_by = ("publisher", "title", "version")

    def render_title(self, value, record):
        request = getattr(self, "request", None)
        if request is None or getattr(request, "tenant", None) is None:
            return value
        url = reverse("catalog:product", kwargs={"tenant": request.tenant.slug, "pk": record.pk})
        return format_html('<a href="{}">{}</a>', url, value)

    def render_origin(self, value):
        return _("own") if value else _("catalog")

    def value_origin(self, value):
        return "tenant" if value else "master"

    def value_title(self, value):
        return value
