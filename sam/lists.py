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
from django.core.exceptions import PermissionDenied
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
    meta_fields: dict[str, list[str]] = {}
    declared: dict[str, django_filters.Filter] = {}
    for name, kind in fields.items():
        field = _model_field(model, name)
        if kind == "date" and isinstance(field, models.DateTimeField):
            # A date filter on a timestamp compares the day (in the current time zone).
            for op, _label in OPERATORS[kind]:
                lookup = "isnull" if op == "isnull" else f"date__{op}"
                filter_class = django_filters.BooleanFilter if op == "isnull" else django_filters.DateFilter
                declared[f"{name}__{op}"] = filter_class(field_name=name, lookup_expr=lookup)
            continue
        meta_fields[name] = [op for op, _label in OPERATORS[kind]]
    meta = type("Meta", (), {"model": model, "fields": meta_fields})
    return type(f"{model.__name__}OperatorFilterSet", (base,), {"Meta": meta, **declared})


def _model_field(model, path: str):
    field = None
    for part in path.split("__"):
        try:
            field = model._meta.get_field(part)
        except Exception:  # noqa: BLE001 - a lookup, not a field
            return field
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    return field


class TenantListView(TenantView):
    model: type[models.Model]
    table_class: type[tables.Table]
    filter_fields: dict[str, str] = {}
    filterset_class = None
    title = ""
    template_name = "sam/list.html"
    per_page = 50
    page_sizes = (25, 50, 100, 200)
    table_key = ""
    export_name = ""
    # Labels of filters whose generated label is not clear enough: {"product__title": _("Product")}.
    filter_labels: dict[str, str] = {}
    # At most this many distinct values make a free-text "choice" filter a select.
    choice_limit = 100

    # Bulk actions: {"publish": (_("Publish"), "entitlements.change")}; the view implements
    # handle_bulk_action(name, queryset) and returns a response (usually a redirect back).
    bulk_actions: dict[str, tuple[str, str]] = {}

    # --- hooks ---------------------------------------------------------------------------------
    def handle_bulk_action(self, action: str, queryset) -> HttpResponse:  # pragma: no cover - per view
        raise NotImplementedError

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

    def filter_data(self, params=None):
        """Translate ``field=value&field__op=lookup`` (the filter bar) into ``field__lookup=value``."""
        data = (self.request.GET if params is None else params).copy()
        for name, kind in self.filter_fields.items():
            value = data.get(name, "")
            op = data.get(f"{name}__op", "") or OPERATORS[kind][0][0]
            if op not in dict(OPERATORS[kind]):
                continue
            if op != "exact":
                # django-filter names the "exact" lookup after the bare field: drop it, or a
                # "> 5" filter would also demand "= 5".
                data.pop(name, None)
            if op == "isnull":
                continue  # applied in filtered_queryset: empty text is "" as well as NULL
            if value != "":
                data[f"{name}__{op}"] = value
        return data

    def _empty_filters(self, params) -> models.Q:
        q = models.Q()
        for name, _kind in self.filter_fields.items():
            if params.get(f"{name}__op") == "isnull":
                field = self._field(name)
                empty = models.Q(**{f"{name}__isnull": True})
                if isinstance(field, (models.CharField, models.TextField)):
                    empty |= models.Q(**{name: ""})
                q &= empty
        return q

    def _field(self, path: str):
        return _model_field(self.model, path)

    def filtered_queryset(self, params=None):
        """The filterset and the rows it matches: one definition for the page, the export and
        "select all matching"."""
        params = self.request.GET if params is None else params
        filterset = self.get_filterset_class()(self.filter_data(params), queryset=self.get_queryset(),
                                               request=self.request)
        queryset = filterset.qs.filter(self._empty_filters(params))
        return filterset, self.with_related(queryset)

    def with_related(self, queryset):
        """``select_related`` the relations the visible columns read, so a column never costs a query per row."""
        table = self.table_class(self.model.objects.none())
        paths = set()
        visible = set(self._visible())
        for column in table.columns.iterall():
            if column.name not in visible:
                continue
            accessor = str(getattr(column, "accessor", "") or column.name).replace(".", "__")
            model, chain = self.model, []
            for part in accessor.split("__"):
                try:
                    field = model._meta.get_field(part)
                except Exception:  # noqa: BLE001 - a property or method: stop here
                    break
                if not (field.many_to_one or field.one_to_one) or field.related_model is None:
                    break
                chain.append(part)
                model = field.related_model
            if chain:
                paths.add("__".join(chain))
        return queryset.select_related(*sorted(paths)) if paths else queryset

    def selected_queryset(self):
        """The rows a bulk action applies to: the ticked ``selected`` ids, or every row matching the
        list's filters when ``select_all_matching`` is posted (the filters travel in the query string)."""
        _filterset, queryset = self.filtered_queryset(self.request.GET)
        if self.request.POST.get("select_all_matching"):
            return queryset
        ids = [int(v) for v in self.request.POST.getlist("selected") if v.isdigit()]
        return queryset.filter(pk__in=ids)

    @staticmethod
    def _clamp_paging(request) -> None:
        """``page`` and ``per_page`` as typed may be anything: keep them in range (never a 500)."""
        from sam.params import param_int

        if "page" not in request.GET and "per_page" not in request.GET:
            return
        params = request.GET.copy()
        if "page" in params:
            params["page"] = str(param_int(params.get("page"), 1, low=1, high=10**6))
        if "per_page" in params:
            params["per_page"] = str(param_int(params.get("per_page"), 50, low=1, high=500))
        request.GET = params

    def chosen_columns(self) -> list[str] | None:
        pref = TablePreference.objects.filter(user=self.request.user, table=self.get_table_key()).first()
        return pref.columns if pref else None

    def get(self, request, *args, **kwargs):
        self._clamp_paging(request)
        filterset, queryset = self.filtered_queryset()
        fmt = request.GET.get("export")
        if fmt:
            return self.export(queryset, fmt)
        table = self.table_class(queryset, request=request,
                                 exclude=self._excluded(), sequence=self._sequence())
        per_page = self.page_size()
        # The page size comes from page_size() (bounded), not straight from the query string.
        table.per_page_field = "_per_page_unused"
        tables.RequestConfig(request, paginate={"per_page": per_page}).configure(table)
        filter_rows = self.filter_rows()
        ctx = {
            "title": self.title or self.model._meta.verbose_name_plural.title(),
            "table": table,
            "filterset": filterset,
            "filter_rows": filter_rows,
            "active_filters": [f for f in filter_rows if f["active"]],
            "page_sizes": self.page_sizes,
            "per_page": per_page,
            "columns": self.column_choices(),
            "table_key": self.get_table_key(),
            "export_formats": list(FORMATS),
            "query": request.GET.urlencode(),
            "export_query": self._export_query(),
            "bulk_actions": [(name, label) for name, (label, perm) in self.bulk_actions.items() if self.can(perm)],
            **self.extra_context(),
        }
        template = "sam/list.html#table" if request.htmx and not request.htmx.boosted else self.template_name
        response = self.render(template, ctx)
        response["Vary"] = "HX-Request"
        return response

    def post(self, request, *args, **kwargs):
        """A bulk action on the selected rows, or the column picker's choice."""
        action = request.POST.get("bulk_action")
        if action:
            if action not in self.bulk_actions:
                return HttpResponse(f"Unknown action {action!r}", status=400, content_type="text/plain")
            _label, perm = self.bulk_actions[action]
            if not self.can(perm):
                raise PermissionDenied
            return self.handle_bulk_action(action, self.selected_queryset())
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

    def page_size(self) -> int:
        try:
            wanted = int(self.request.GET.get("per_page", ""))
        except ValueError:
            return self.per_page
        return wanted if wanted in self.page_sizes else self.per_page

    def filter_label(self, name: str) -> str:
        """A label naming the whole path, so "product__title" and "product__publisher__name" differ."""
        if name in self.filter_labels:
            return str(self.filter_labels[name])
        words, model = [], self.model
        for part in name.split("__"):
            try:
                field = model._meta.get_field(part)
            except Exception:  # noqa: BLE001 - a lookup or property: its own name
                words.append(part.replace("_", " "))
                break
            words.append(str(getattr(field, "verbose_name", part)))
            if field.is_relation and field.related_model is not None:
                model = field.related_model
        # "Primary user username" reads better as "Primary user › username".
        label = " › ".join(words)
        return label[:1].upper() + label[1:]

    def filter_choices(self, name: str, kind: str) -> list[tuple[str, str]] | None:
        """Values for a select: yes/no, the field's choices, or its distinct values (bounded)."""
        if kind == "bool":
            return [("true", str(_("yes"))), ("false", str(_("no")))]
        if kind != "choice":
            return None
        field = self._field(name)
        if field is not None and getattr(field, "choices", None):
            return [(str(v), str(label)) for v, label in field.choices]
        values = list(self.get_queryset().order_by().exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})
                      .values_list(name, flat=True).distinct()[: self.choice_limit + 1])
        if len(values) > self.choice_limit:
            return None  # too many: free text
        return [(str(v), str(v)) for v in sorted(values, key=lambda v: str(v).lower())]

    def filter_rows(self) -> list[dict]:
        rows = []
        params = self.request.GET
        for name, kind in self.filter_fields.items():
            value, op = params.get(name, ""), params.get(f"{name}__op", "")
            operators = [(o, str(lbl)) for o, lbl in OPERATORS[kind]]
            choices = self.filter_choices(name, kind)
            active = value != "" or op == "isnull"
            remove = params.copy()
            for key in (name, f"{name}__op", "page", "export"):
                remove.pop(key, None)
            shown = value
            if choices and value:
                shown = dict(choices).get(value, value)
            rows.append({
                "name": name, "label": self.filter_label(name), "kind": kind, "value": value, "op": op,
                "operators": operators, "choices": choices, "active": active, "display": shown,
                "op_label": dict(operators).get(op or operators[0][0], ""), "remove_query": remove.urlencode(),
            })
        return rows

    def _export_query(self) -> str:
        q = self.request.GET.copy()
        for key in ("sort", "page", "export", "per_page", "selected", "select_all_matching"):
            q.pop(key, None)
        return q.urlencode()

    def export_rows(self, queryset):
        """Rows of the visible columns, in primary-key order: the filter counts, the sort does not."""
        # default="": an empty cell is empty in a file (the page shows "—"), as docs/file-formats.md says.
        table = self.table_class(queryset.order_by("pk"), exclude=self._excluded() + ("selection",),
                                 sequence=self._sequence()[1:] if self._sequence()[0] == "selection" else self._sequence(),
                                 default="")
        values = table.as_values()
        header = next(values)
        return header, (["" if cell == "—" else cell for cell in row] for row in values)

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
