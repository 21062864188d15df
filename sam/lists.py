"""Declared list pages: a table, a filterset with operators, a remembered column choice, TSV export.

An app declares::

    class DeviceList(TenantListView):
        permission = "inventory.view"
        model = Device
        table_class = DeviceTable          # django-tables2; Meta.default_columns = (...)
        filter_fields = {"name": "text", "processors": "number", "status": "choice"}
        title = _("Devices")

and gets sorting, paging, the column picker, filters with operators in the query string, HTMX
partial refresh and ``?export=tsv|csv|xlsx`` of exactly the filtered rows (any sort ignored).
"""
from __future__ import annotations

import django_filters
import django_tables2 as tables
from django.db import models
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from sam.exports import FORMATS, iter_delimited, xlsx_bytes
from sam.models import TablePreference
from sam.views import TenantView

OPERATORS = {
    "text": [("icontains", _("contains")), ("iexact", _("equals")), ("istartswith", _("starts with")),
             ("isnull", _("is empty"))],
    "number": [("exact", _("=")), ("gt", _(">")), ("lt", _("<")), ("gte", _("≥")), ("lte", _("≤")),
               ("isnull", _("is empty"))],
    "date": [("exact", _("on")), ("gt", _("after")), ("lt", _("before")), ("isnull", _("is empty"))],
    "choice": [("iexact", _("equals")), ("icontains", _("contains")), ("isnull", _("is empty"))],
    "bool": [("exact", _("is"))],
}


def operator_filterset(model: type[models.Model], fields: dict[str, str],
                       base: type[django_filters.FilterSet] = django_filters.FilterSet):
    """Build a FilterSet with one filter per field and operator (``name__icontains`` ...)."""
    meta_fields = {name: [op for op, _label in OPERATORS[kind]] for name, kind in fields.items()}
    meta = type("Meta", (), {"model": model, "fields": meta_fields})
    return type(f"{model.__name__}OperatorFilterSet", (base,), {"Meta": meta})


class TenantListView(TenantView):
    model: type[models.Model]
    table_class: type[tables.Table]
    filter_fields: dict[str, str] = {}
    filterset_class = None
    title = ""
    template_name = "sam/list.html"
    per_page = 50
    table_key = ""
    export_name = ""

    # --- hooks ---------------------------------------------------------------------------------
    def get_queryset(self):
        return self.model.objects.all()

    def extra_context(self) -> dict:
        return {}

    # --- machinery -----------------------------------------------------------------------------
    def get_table_key(self) -> str:
        return self.table_key or f"{self.model._meta.label_lower}"

    def get_filterset_class(self):
        if self.filterset_class is not None:
            return self.filterset_class
        return operator_filterset(self.model, self.filter_fields)

    def filter_data(self):
        """Translate ``field=value&field__op=lookup`` (the filter bar) into ``field__lookup=value``."""
        data = self.request.GET.copy()
        for name, kind in self.filter_fields.items():
            value = data.get(name, "")
            op = data.get(f"{name}__op", "") or OPERATORS[kind][0][0]
            if op == "isnull":
                if f"{name}__op" in data:
                    data[f"{name}__isnull"] = "true"
            elif value != "":
                data[f"{name}__{op}"] = value
        return data

    def filtered_queryset(self):
        filterset = self.get_filterset_class()(self.filter_data(), queryset=self.get_queryset(), request=self.request)
        return filterset, filterset.qs

    def chosen_columns(self) -> list[str] | None:
        pref = TablePreference.objects.filter(user=self.request.user, table=self.get_table_key()).first()
        return pref.columns if pref else None

    def get(self, request, *args, **kwargs):
        filterset, queryset = self.filtered_queryset()
        fmt = request.GET.get("export")
        if fmt:
            return self.export(queryset, fmt)
        table = self.table_class(queryset, request=request,
                                 exclude=self._excluded(), sequence=self._sequence())
        tables.RequestConfig(request, paginate={"per_page": self.per_page}).configure(table)
        ctx = {
            "title": self.title or self.model._meta.verbose_name_plural.title(),
            "table": table,
            "filterset": filterset,
            "filter_rows": self.filter_rows(),
            "columns": self.column_choices(),
            "table_key": self.get_table_key(),
            "export_formats": list(FORMATS),
            "query": request.GET.urlencode(),
            "export_query": self._export_query(),
            **self.extra_context(),
        }
        template = "sam/list.html#table" if request.htmx and not request.htmx.boosted else self.template_name
        response = self.render(template, ctx)
        response["Vary"] = "HX-Request"
        return response

    def post(self, request, *args, **kwargs):
        """Save the column choice (the column picker posts here)."""
        columns = [c for c in request.POST.getlist("columns") if c in dict(self.column_choices_all())]
        if request.POST.get("reset"):
            TablePreference.objects.filter(user=request.user, table=self.get_table_key()).delete()
        elif columns:
            TablePreference.objects.update_or_create(user=request.user, table=self.get_table_key(),
                                                     defaults={"columns": columns})
        from django.shortcuts import redirect

        return redirect(f"{request.path}?{request.GET.urlencode()}")

    # --- helpers ---------------------------------------------------------------------------------
    def column_choices_all(self) -> list[tuple[str, str]]:
        table = self.table_class(self.model.objects.none())
        return [(c.name, str(c.header)) for c in table.columns.iterall() if c.name != "selection"]

    def _visible(self) -> list[str]:
        names = [n for n, _h in self.column_choices_all()]
        chosen = self.chosen_columns()
        if chosen is None:
            default = getattr(getattr(self.table_class, "Meta", None), "default_columns", None)
            chosen = list(default) if default else names
        return [c for c in chosen if c in names] or names

    def _excluded(self) -> tuple[str, ...]:
        visible = set(self._visible())
        return tuple(n for n, _h in self.column_choices_all() if n not in visible)

    def _sequence(self) -> list[str]:
        seq = self._visible()
        table = self.table_class(self.model.objects.none())
        if "selection" in [c.name for c in table.columns.iterall()]:
            seq = ["selection", *seq]
        return [*seq, "..."]

    def column_choices(self) -> list[dict]:
        visible = self._visible()
        all_cols = self.column_choices_all()
        order = visible + [n for n, _h in all_cols if n not in visible]
        headers = dict(all_cols)
        return [{"name": n, "header": headers[n], "visible": n in visible} for n in order]

    def filter_rows(self) -> list[dict]:
        rows = []
        for name, kind in self.filter_fields.items():
            try:
                label = self.model._meta.get_field(name.split("__")[0]).verbose_name
            except Exception:  # noqa: BLE001 - related paths fall back to the raw name
                label = name.replace("__", " ").replace("_", " ")
            rows.append({
                "name": name, "label": str(label).capitalize(), "kind": kind,
                "value": self.request.GET.get(name, ""), "op": self.request.GET.get(f"{name}__op", ""),
                "operators": [(op, str(lbl)) for op, lbl in OPERATORS[kind]],
            })
        return rows

    def _export_query(self) -> str:
        q = self.request.GET.copy()
        for key in ("sort", "page", "export", "per_page"):
            q.pop(key, None)
        return q.urlencode()

    def export_rows(self, queryset):
        """Rows of the visible columns, in primary-key order: the filter counts, the sort does not."""
        table = self.table_class(queryset.order_by("pk"), exclude=self._excluded() + ("selection",),
                                 sequence=self._sequence()[1:] if self._sequence()[0] == "selection" else self._sequence())
        values = table.as_values()
        header = next(values)
        return header, values

    def export(self, queryset, fmt: str) -> HttpResponse:
        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
        tenant = self.tenant
        name = self.export_name or self.model._meta.model_name
        filename = f"{tenant.slug}-{name}.{fmt}"
        if fmt == "xlsx":
            header, rows = self.export_rows(queryset)
            response = HttpResponse(xlsx_bytes(header, rows, title=name), content_type=FORMATS[fmt])
        else:
            def stream():
                # Streaming happens after the middleware left the scope: re-enter it here.
                with scope(tenant=tenant):
                    header, rows = self.export_rows(queryset)
                    yield from (chunk.encode("utf-8") for chunk in iter_delimited(header, rows, fmt))

            response = StreamingHttpResponse(stream(), content_type=f"{FORMATS[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class SelectionColumn(tables.CheckBoxColumn):
    """A check box per row for bulk actions (not exported, not pickable)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("accessor", "pk")
        kwargs.setdefault("attrs", {"th__input": {"aria-label": "select all", "data-select-all": "1"},
                                    "td__input": {"name": "selected", "form": "bulk-form"}})
        kwargs.setdefault("orderable", False)
        super().__init__(**kwargs)
