"""Pages of the catalog: products, SKUs, license models, autocomplete, amendments.

Views parse and render; reads go through ``catalog.selectors``, writes through ``catalog.services``
(recognition and its work list live in ``inventory``). The master catalog is read-only here (staff maintain it by import).
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import forms, selectors
from catalog.models import (
    Product,
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
from catalog.services import amendment_delete, amendment_save
from catalog.tables import ProductTable
from sam.exports import FORMATS, iter_delimited, xlsx_bytes
from sam.lists import TenantListView
from sam.views import TenantView

SECTIONS = (
    ("catalog:products", gettext_lazy("Products")),
    ("catalog:skus", gettext_lazy("SKUs")),
    ("catalog:license-models", gettext_lazy("License models")),
    ("inventory:recognition", gettext_lazy("Recognition")),
    ("catalog:amendments", gettext_lazy("Our amendments")),
)


class CatalogMixin:
    def sections(self) -> list[dict]:
        current = self.request.resolver_match.view_name if self.request.resolver_match else ""
        return [{"url": self.tenant_url(name), "label": label, "active": name == current} for name, label in SECTIONS]

    def render(self, template, context=None, **kwargs):
        ctx = {"sections": self.sections(), "can_change": self.can("catalog.change")}
        ctx.update(context or {})
        return super().render(template, ctx, **kwargs)


# --- products -------------------------------------------------------------------------------------


class ProductList(CatalogMixin, TenantListView):
    permission = "catalog.view"
    model = Product
    table_class = ProductTable
    title = gettext_lazy("Products")
    template_name = "catalog/list.html"
    export_name = "products"
    filter_fields = {"publisher__name": "text", "title": "text", "version": "text", "edition": "text",
                     "release_date": "date"}

    def get_queryset(self):
        return selectors.products_list_queryset(tenant=self.tenant)


class ProductDetail(CatalogMixin, TenantView):
    permission = "catalog.view"
    model = Product

    def get(self, request, pk: int):
        product = get_object_or_404(selectors.products_visible(tenant=self.tenant).select_related("publisher"), pk=pk)
        ctx = {"product": product, **selectors.product_detail(tenant=self.tenant, product=product)}
        return self.render("catalog/product_detail.html", ctx)


# --- SKUs -------------------------------------------------------------------------------------------

SKU_EXPORT_HEADER = ("sku", "sku_description", "publisher", "product", "version", "edition", "license_type",
                     "license_model", "units", "term_months", "version_downgrade", "version_upgrade",
                     "edition_downgrade", "list_price", "currency", "source")


class SkuList(CatalogMixin, TenantView):
    """Effective SKUs (master overlaid by the tenant's), searchable, paged and exportable."""

    permission = "catalog.view"
    per_page = 50

    def rows(self):
        q = self.request.GET.get("q", "").strip().lower()
        skus = list(selectors.skus_effective(tenant=self.tenant).values())
        if q:
            skus = [s for s in skus if q in s.part_number.lower() or q in s.description.lower()]
        return skus

    def get(self, request):
        skus = self.rows()
        fmt = request.GET.get("export")
        if fmt:
            return self.export(skus, fmt)
        page = Paginator(skus, self.per_page).get_page(request.GET.get("page"))
        products = {p.pk: p for p in selectors.products_visible(tenant=self.tenant).filter(pk__in={s.product_id for s in page})
                    .select_related("publisher")}
        rows = [(s, products.get(s.product_id)) for s in page]
        template = "catalog/sku_list.html#table" if request.htmx else "catalog/sku_list.html"
        response = self.render(template, {"page": page, "rows": rows, "q": request.GET.get("q", ""),
                                          "export_formats": list(FORMATS)})
        response["Vary"] = "HX-Request"
        return response

    def export(self, skus, fmt: str) -> HttpResponse:
        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
        products = {p.pk: p for p in selectors.products_visible(tenant=self.tenant).filter(pk__in={s.product_id for s in skus})
                    .select_related("publisher")}

        def data():
            for s in skus:
                p = products.get(s.product_id)
                yield (s.part_number, s.description, p.publisher.name if p else "", p.title if p else "",
                       p.version if p else "", p.edition if p else "", s.license_type, s.license_model, s.units,
                       s.term_months, s.version_downgrade, s.version_upgrade, s.edition_downgrade, s.list_price,
                       s.currency, "tenant" if s.is_tenant else "master")

        filename = f"{self.tenant.slug}-skus.{fmt}"
        if fmt == "xlsx":
            response = HttpResponse(xlsx_bytes(SKU_EXPORT_HEADER, data(), title="skus"), content_type=FORMATS[fmt])
        else:
            response = StreamingHttpResponse((c.encode() for c in iter_delimited(SKU_EXPORT_HEADER, data(), fmt)),
                                             content_type=f"{FORMATS[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# --- license models -----------------------------------------------------------------------------------


class LicenseModelList(CatalogMixin, TenantView):
    permission = "catalog.view"

    def get(self, request):
        models = list(selectors.license_models_effective(tenant=self.tenant).values())
        return self.render("catalog/license_model_list.html", {"models": models})


class LicenseModelDetail(CatalogMixin, TenantView):
    """One license model by name (``?name=``): its rule, and the products and SKUs that use it."""

    permission = "catalog.view"

    def get(self, request):
        name = request.GET.get("name", "")
        if not name:
            return HttpResponseRedirect(self.tenant_url("catalog:license-models"))
        model = selectors.license_models_effective(tenant=self.tenant).get(name)
        if model is None:
            raise Http404("No such license model.")
        products = selectors.products_with_default_model(tenant=self.tenant, name=name)[:200]
        skus = [s for s in selectors.skus_effective(tenant=self.tenant).values() if s.license_model == name][:200]
        tenant_row = TenantLicenseModel.objects.filter(tenant=self.tenant, name=name).first()
        return self.render("catalog/license_model_detail.html", {
            "model": model, "products": products, "skus": skus, "tenant_row": tenant_row})


# --- recognition ----------------------------------------------------------------------------------
# The unknown-fingerprint work list lives in inventory (``inventory:recognition``); these keep the
# catalog's old address of the list working for bookmarks.


class FingerprintQueueMoved(TenantView):
    """``catalog/fingerprints/`` moved to ``inventory/recognition/``: a redirect that keeps the query."""

    permission = "catalog.view"

    def get(self, request):
        query = f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else ""
        return HttpResponseRedirect(self.tenant_url("inventory:recognition") + query)


# --- autocomplete --------------------------------------------------------------------------------


def _options(items: list[dict], *, empty: str = "") -> HttpResponse:
    html = format_html('<option value="">{}</option>', empty) if empty else ""
    html += format_html_join("", '<option value="{}">{}</option>', ((i["id"], i["label"]) for i in items))
    response = HttpResponse(html)
    response["Vary"] = "HX-Request"
    return response


class ProductAutocomplete(TenantView):
    """``GET ?q=``: products as JSON ``[{id, label, publisher, title, version, edition}]``.

    Step by step: ``?field=publisher&q=`` lists publishers, ``?field=title&publisher=`` their titles,
    and ``?publisher=&title=`` narrows the products to versions and editions of one title. An HTMX
    request gets ``<option>`` elements instead of JSON.
    """

    permission = "catalog.view"

    def get(self, request):
        q = request.GET.get("q", "").strip()
        field = request.GET.get("field", "")
        limit = min(int(request.GET.get("limit", 20) or 20), 100) if request.GET.get("limit", "").isdigit() else 20
        if field == "publisher":
            items = [{"id": n, "label": n} for n in selectors.publisher_names_search(tenant=self.tenant, q=q,
                                                                                     limit=limit)]
        elif field == "title":
            items = [{"id": t, "label": t} for t in selectors.product_titles_search(
                tenant=self.tenant, publisher=request.GET.get("publisher", ""), q=q, limit=limit)]
        else:
            products = selectors.products_search(tenant=self.tenant, q=q, publisher=request.GET.get("publisher", ""),
                                                 title=request.GET.get("title", ""), limit=limit)
            items = [{"id": p.pk, "label": str(p), "publisher": p.publisher.name, "title": p.title,
                      "version": p.version, "edition": p.edition} for p in products]
        if request.htmx:
            return _options(items, empty=_("— choose —") if items else _("nothing found"))
        response = JsonResponse(items, safe=False)
        response["Vary"] = "HX-Request"
        return response


class SkuAutocomplete(TenantView):
    """``GET ?q=``: effective SKUs matching part number or description (JSON, or ``<option>`` for HTMX)."""

    permission = "catalog.view"

    def get(self, request):
        q = request.GET.get("q", "").strip()
        skus = selectors.skus_search(tenant=self.tenant, q=q, limit=20)
        exact = selectors.sku_resolve(tenant=self.tenant, part_number=q) if q else None
        if exact and exact.sku and all(s.part_number != exact.sku.part_number for s in skus):
            skus.insert(0, exact.sku)  # an alias typed in full finds its SKU
        products = {p.pk: p for p in selectors.products_visible(tenant=self.tenant).filter(pk__in={s.product_id for s in skus})
                    .select_related("publisher")}
        items = [{"id": s.part_number, "label": f"{s.part_number} – {s.description or products.get(s.product_id, '')}",
                  "part_number": s.part_number, "description": s.description, "product_id": s.product_id,
                  "product": str(products.get(s.product_id, "")), "license_model": s.license_model,
                  "units": str(s.units), "is_tenant": s.is_tenant} for s in skus]
        if request.htmx:
            return _options(items, empty=_("— choose —") if items else _("nothing found"))
        response = JsonResponse(items, safe=False)
        response["Vary"] = "HX-Request"
        return response


# --- tenant amendments ------------------------------------------------------------------------------

AMENDMENT_KINDS = {
    "sku": (TenantSku, forms.TenantSkuForm, gettext_lazy("SKU")),
    "alias": (TenantSkuAlias, forms.TenantSkuAliasForm, gettext_lazy("SKU alias")),
    "license-model": (TenantLicenseModel, forms.TenantLicenseModelForm, gettext_lazy("License model")),
    "fingerprint-rule": (TenantFingerprintRule, forms.TenantFingerprintRuleForm, gettext_lazy("Recognition rule")),
    "product-terms": (TenantProductTerms, forms.TenantProductTermsForm, gettext_lazy("Product terms")),
    "edition-rank": (TenantEditionRank, forms.TenantEditionRankForm, gettext_lazy("Edition rank")),
    "processor": (TenantProcessorModel, forms.TenantProcessorForm, gettext_lazy("Processor")),
    "assignment": (TenantProductAssignment, forms.TenantAssignmentForm, gettext_lazy("Assignment")),
    "bundle": (TenantBundleComponent, forms.TenantBundleForm, gettext_lazy("Suite component")),
}


class AmendmentList(CatalogMixin, TenantView):
    """The tenant's own catalog rows, which win over the master catalog."""

    permission = "catalog.view"

    def get(self, request):
        ctx = {
            "skus": TenantSku.objects.filter(tenant=self.tenant).select_related("product__publisher"),
            "aliases": TenantSkuAlias.objects.filter(tenant=self.tenant).order_by("alias"),
            "models": TenantLicenseModel.objects.filter(tenant=self.tenant),
            "rules": TenantFingerprintRule.objects.filter(tenant=self.tenant).select_related("product__publisher")
            .order_by("publisher", "name"),
            "terms": TenantProductTerms.objects.filter(tenant=self.tenant).select_related("product__publisher")
            .order_by("product__publisher__name", "product__title"),
            "ranks": TenantEditionRank.objects.filter(tenant=self.tenant).order_by("publisher", "title", "rank"),
            "processors": TenantProcessorModel.objects.filter(tenant=self.tenant).order_by("model"),
            "assignments": TenantProductAssignment.objects.filter(tenant=self.tenant)
            .select_related("product__publisher", "source_product__publisher").order_by("kind", "key"),
            "bundles": TenantBundleComponent.objects.filter(tenant=self.tenant)
            .select_related("bundle__publisher", "component__publisher").order_by("bundle_id", "component__title"),
        }
        return self.render("catalog/amendments.html", ctx)


class AmendmentEdit(CatalogMixin, TenantView):
    """Create (no pk) or edit (pk) one tenant amendment of ``kind``; subclasses set ``kind`` and ``model``."""

    permission = "catalog.view"
    post_permission = "catalog.change"
    kind = ""
    model = None

    def dispatch(self, request, *args, **kwargs):
        self.model_class, self.form_class, self.label = AMENDMENT_KINDS[self.kind]
        return super().dispatch(request, *args, **kwargs)

    def _instance(self, pk):
        return get_object_or_404(self.model_class, pk=pk) if pk else None

    def _page(self, form, instance):
        return self.render("catalog/amendment_form.html", {"form": form, "instance": instance, "label": self.label,
                                                           "kind": self.kind, "can_edit": self.can("catalog.change")})

    def get(self, request, pk: int | None = None):
        instance = self._instance(pk)
        initial = {k: v for k, v in request.GET.items() if k in {"part_number", "alias", "publisher", "name", "version"}}
        form = self.form_class(instance=instance, tenant=self.tenant, initial=initial)
        return self._page(form, instance)

    def post(self, request, pk: int | None = None):
        instance = self._instance(pk)
        if request.POST.get("action") == "delete" and instance is not None:
            amendment_delete(tenant=self.tenant, actor=request.user, instance=instance)
            messages.success(request, _("%(label)s deleted; the master catalog applies again.") % {"label": self.label})
            return HttpResponseRedirect(self.tenant_url("catalog:amendments"))
        form = self.form_class(request.POST, instance=instance, tenant=self.tenant)
        if form.is_valid():
            obj = form.save(commit=False)
            try:
                amendment_save(tenant=self.tenant, actor=request.user, instance=obj)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.error_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
                return self._page(form, instance)
            messages.success(request, _("%(label)s saved.") % {"label": self.label})
            return HttpResponseRedirect(self.tenant_url("catalog:amendments"))
        return self._page(form, instance)


class SkuAmendment(AmendmentEdit):
    kind = "sku"
    model = TenantSku


class AliasAmendment(AmendmentEdit):
    kind = "alias"
    model = TenantSkuAlias


class LicenseModelAmendment(AmendmentEdit):
    kind = "license-model"
    model = TenantLicenseModel


class FingerprintRuleAmendment(AmendmentEdit):
    kind = "fingerprint-rule"
    model = TenantFingerprintRule


class ProductTermsAmendment(AmendmentEdit):
    kind = "product-terms"
    model = TenantProductTerms


class EditionRankAmendment(AmendmentEdit):
    kind = "edition-rank"
    model = TenantEditionRank


class ProcessorAmendment(AmendmentEdit):
    kind = "processor"
    model = TenantProcessorModel


class AssignmentAmendment(AmendmentEdit):
    kind = "assignment"
    model = TenantProductAssignment


class BundleAmendment(AmendmentEdit):
    kind = "bundle"
    model = TenantBundleComponent
