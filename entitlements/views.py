"""Pages of the license inventory. Views parse, check access, call a service or selector and render."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db.models import Count, Exists, OuterRef, Q
from django.forms.utils import ErrorDict
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from catalog.models import ProductTerms, Publisher, Sku, TenantProductTerms, TenantSku
from entitlements import selectors, services
from entitlements.forms import (
    ContractForm,
    ConvertForm,
    DocumentForm,
    EntitlementForm,
    LicenseKeyForm,
    RepositoryForm,
)
from entitlements.models import (
    Contract,
    Document,
    Entitlement,
    EntitlementType,
    LicenseKey,
    Repository,
    State,
    Status,
    Term,
)
from entitlements.tables import ContractTable, EntitlementTable
from sam.lists import TenantListView
from sam.models import Role
from sam.views import TenantView

# ---------------------------------------------------------------------------------------------
# The list


class EntitlementList(TenantListView):
    """Licenses and maintenances of one repository, with status filters, bulk actions and export."""

    permission = "entitlements.view"
    model = Entitlement
    table_class = EntitlementTable
    template_name = "entitlements/list.html"
    title = "Licenses / Maintenances"
    export_name = "entitlements"
    table_key = "entitlements.entitlement"
    filter_fields = {
        "vendor": "text", "title": "text", "version": "text", "edition": "text", "type": "choice",
        "metric": "choice", "sku": "text", "quantity": "number", "cost": "number", "end_date": "date",
        "management_group__name": "text", "identifier": "text", "state": "choice", "license_model": "text",
        "start_date": "date", "units": "number", "unit_cost": "number", "currency": "text", "term": "choice",
        "contract__number": "text",
    }

    def repository(self) -> Repository:
        if not hasattr(self, "_repository"):
            wanted = self.request.GET.get("repository", "")
            repo = None
            if wanted.isdigit():
                repo = Repository.objects.filter(tenant=self.tenant, pk=int(wanted)).first()
            self._repository = repo or services.repository_default(tenant=self.tenant)
        return self._repository

    def filter_data(self, *args, **kwargs):
        data = super().filter_data(*args, **kwargs)
        # The "exact" filter of a number/date column is named like the column itself, so the raw
        # value would also be applied as "equals" next to the chosen operator: drop it then.
        for name, kind in self.filter_fields.items():
            op = data.get(f"{name}__op", "")
            if kind in ("number", "date") and op and op != "exact":
                data.pop(name, None)
        return data

    def get_queryset(self):
        qs = selectors.entitlement_list_queryset(tenant=self.tenant, repository=self.repository())
        status = self.request.GET.get("status", "")
        if status in State.values:
            qs = qs.filter(state=status)
        if self.request.GET.get("active") == "1":
            qs = qs.filter(state=State.PUBLISHED).filter(selectors.active_on_q(timezone.localdate()))
        return qs

    def extra_context(self) -> dict:
        counts = dict(Entitlement.objects.filter(tenant=self.tenant, repository=self.repository())
                      .values_list("state").annotate(n=Count("pk")).order_by())
        return {
            "repositories": list(Repository.objects.filter(tenant=self.tenant)),
            "current_repository": self.repository(),
            "states": [(value, label, counts.get(value, 0)) for value, label in State.choices],
            "current_status": self.request.GET.get("status", ""),
            "active_only": self.request.GET.get("active") == "1",
            "last_refreshed": timezone.now(),
            "extra_keep": ["repository", "status", "active"],
            "can_change": self.can("entitlements.change"),
        }


class EntitlementBulkView(TenantView):
    """The list's action buttons: publish, move to draft, delete (many); edit, clone, components (one)."""

    permission = "entitlements.change"

    def post(self, request):
        ids = [int(x) for x in request.POST.getlist("selected") if x.isdigit()]
        action = request.POST.get("action", "")
        back = request.POST.get("next") or self.tenant_url("entitlements:list")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = self.tenant_url("entitlements:list")
        if not ids:
            messages.error(request, _("Select at least one entitlement."))
            return HttpResponseRedirect(back)
        if action in ("edit", "clone", "components"):
            if len(ids) != 1:
                messages.error(request, _("Select exactly one entitlement for this action."))
                return HttpResponseRedirect(back)
            ent = get_object_or_404(Entitlement, pk=ids[0])
            if action == "edit":
                return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=ent.pk))
            if action == "components":
                return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=ent.pk) + "#components")
            clone = services.entitlement_clone(entitlement=ent, actor=request.user)
            messages.success(request, _("Cloned as draft #%(pk)s.") % {"pk": clone.pk})
            return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=clone.pk))
        if action not in ("publish", "unpublish", "delete"):
            messages.error(request, _("Unknown action."))
            return HttpResponseRedirect(back)
        result = services.entitlements_bulk(tenant=self.tenant, actor=request.user, ids=ids, action=action)
        verb = {"publish": _("published"), "unpublish": _("moved to draft"), "delete": _("deleted")}[action]
        messages.success(request, _("%(n)s entitlements %(verb)s.") % {"n": result.done, "verb": verb})
        for refusal in result.refused or []:
            messages.error(request, refusal)
        return HttpResponseRedirect(back)


# ---------------------------------------------------------------------------------------------
# The editor


def _decimal(text) -> Decimal | None:
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        return None


def readonly_sections(form, ent: Entitlement) -> list[dict]:
    """The editor's sections as label/value pairs for readers: choice labels, yes/no, ISO dates."""
    import datetime as _dt

    from sam.templatetags.figures import money, quantity

    out = []
    for section in form.sections():
        rows = []
        for f in section["fields"]:
            if f.is_hidden:
                continue
            name = f.name
            if hasattr(ent, f"get_{name}_display"):
                value = getattr(ent, f"get_{name}_display")()
            elif name in ("unit_cost",):
                value = money(ent.unit_cost, ent.currency)
            elif name in ("quantity", "units"):
                value = quantity(getattr(ent, name))
            elif hasattr(ent, name):
                value = getattr(ent, name)
            else:
                value = f.value()
            if isinstance(value, bool):
                value = _("yes") if value else _("no")
            elif isinstance(value, _dt.date):
                value = value.isoformat()
            elif isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            rows.append((f.label, "—" if value in (None, "") else value))
        out.append({"anchor": section["anchor"], "title": section["title"], "rows": rows})
    return out


class EditorMixin:
    """Shared by the New and Edit pages: the form, the SKU lock, the summary and the save."""

    def sku_values(self, sku: str) -> dict | None:
        sku = (sku or "").strip()
        if not sku:
            return None
        return services.sku_defaults(tenant=self.tenant, part_numbers=[sku]).get(sku)

    def build_form(self, entitlement: Entitlement, kind: str, data=None):
        if data is not None:
            sku = data.get("sku", "")
        else:
            sku = entitlement.sku if entitlement.from_sku else ""
        sku_values = self.sku_values(sku)
        initial = {}
        if entitlement.pk is None:
            wanted = self.request.GET.get("repository", "")
            repo = Repository.objects.filter(tenant=self.tenant, pk=int(wanted)).first() if wanted.isdigit() else None
            initial = {"start_date": timezone.localdate(), "term": Term.SUBSCRIPTION if kind == "maintenance"
                       else Term.PERPETUAL, "version_downgrade": True, "units": 1, "metric": "device",
                       "repository": (repo or services.repository_default(tenant=self.tenant)).pk}
        return EntitlementForm(
            data, instance=entitlement, initial=initial, tenant=self.tenant, kind=kind, sku_values=sku_values,
            compute_url=self.tenant_url("entitlements:compute"),
            product_ac_url=self.tenant_url("entitlements:autocomplete-products"),
            sku_ac_url=self.tenant_url("entitlements:autocomplete-skus"),
        )

    def prefill(self, posted):
        """The posted values with the SKU's editable defaults (duration, rights) filled in."""
        data = posted.copy()
        values = self.sku_values(posted.get("sku", "")) or {}
        if values.get("duration_months") and not posted.get("duration_months") and not posted.get("end_date"):
            data["duration_months"] = str(values["duration_months"])
        for right in ("version_upgrade", "version_downgrade", "edition_downgrade"):
            if right in values:
                if values[right]:
                    data[right] = "on"
                else:
                    data.pop(right, None)
        # The SKU's list price and currency are suggested (still editable) when none was typed.
        if values and not posted.get("unit_cost"):
            from catalog.selectors import sku_resolve

            found = sku_resolve(tenant=self.tenant, part_number=posted.get("sku", "")).sku
            if found is not None and found.list_price is not None:
                data["unit_cost"] = str(found.list_price)
                if found.currency and not posted.get("currency"):
                    data["currency"] = found.currency
        return data

    def resolve_product(self, data: dict) -> None:
        if data.get("product") is not None or not (data.get("vendor") and data.get("title")):
            return
        from catalog.selectors import product_key_lookup

        key = (data["vendor"], data["title"], data.get("version") or "", data.get("edition") or "")
        found = product_key_lookup(tenant=self.tenant, keys=[key])
        data["product"] = found.get(tuple(p.strip().lower() for p in key))

    def page(self, form, entitlement: Entitlement, kind: str, status: int = 200):
        ent = entitlement
        is_admin = self.membership.role == Role.ADMIN
        ctx = {
            "form": form, "entitlement": ent, "kind": kind, "sections": form.sections(),
            "kind_label": EntitlementType(kind).label,
            "errors": [(c, services.message_for(c)) for c in (ent.errors or [])],
            "warnings": [(c, services.message_for(c)) for c in (ent.warnings or [])],
            "locked": form.locked,
            "show_keys": is_admin,
            "can_change": self.can("entitlements.change"),
        }
        if ent.pk:
            ctx.update({
                "covered": selectors.versions_covered(tenant=self.tenant, entitlement=ent),
                "components": selectors.components_of(tenant=self.tenant, entitlement=ent),
                "chain": selectors.upgrade_chain(entitlement=ent),
                "upgraded_by": list(ent.upgraded_by.all()),
                "superseded_by": list(ent.superseded_by.all()),
                "maintained_by": list(ent.maintained_by.all()),
                "covers": list(ent.covers.all()) if ent.type == EntitlementType.MAINTENANCE else [],
                "keys": list(ent.license_keys.all()),
                "documents": list(ent.documents.all()),
                "key_form": LicenseKeyForm(), "document_form": DocumentForm(),
                "convert_form": ConvertForm(prefix="convert", initial={"metric": ent.metric or "core", "units": 1}),
            })
        if ent.pk and not ctx["can_change"]:
            # Readers (auditors) get a read-only page, not an editor without a Save button.
            ctx["readonly_sections"] = readonly_sections(form, ent)
            return self.render("entitlements/detail.html", ctx, status=status)
        return self.render("entitlements/editor.html", ctx, status=status)

    def save(self, request, entitlement: Entitlement, kind: str):
        action = request.POST.get("action", "draft")
        data = request.POST
        if action == "refresh":
            data = self.prefill(request.POST)
        form = self.build_form(entitlement, kind, data)
        if action == "refresh":  # the SKU changed: prefill and lock, save nothing
            form._errors = ErrorDict()  # show the prefilled values without "required" noise
            return self.page(form, entitlement, kind)
        if not form.is_valid():
            messages.error(request, _("Please correct the fields marked below."))
            return self.page(form, entitlement, kind, status=400)
        if entitlement.pk is None and form.is_empty():
            # Save or Publish on an empty form creates nothing.
            form.add_error("sku", _("Choose a SKU (or name the product) first; nothing was saved."))
            return self.page(form, entitlement, kind, status=400)
        data = form.service_data()
        data["management_group"] = services.management_group_get_or_create(
            tenant=self.tenant, actor=request.user, name=form.cleaned_data.get("management_group_name"))
        self.resolve_product(data)
        if entitlement.pk is None:
            entitlement = Entitlement(tenant=self.tenant)
        try:
            ent = services.entitlement_save(entitlement=entitlement, actor=request.user, data=data,
                                            publish=action == "publish")
        except services.EntitlementInvalid as exc:
            messages.error(request, _("Saved as draft, but not published: fix the errors first."))
            return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=exc.entitlement.pk))
        if ent.status == Status.PUBLISHED:
            messages.success(request, _("%(e)s published.") % {"e": ent})
        else:
            messages.success(request, _("%(e)s saved as draft.") % {"e": ent})
        return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=ent.pk))


class EntitlementCreateView(EditorMixin, TenantView):
    permission = "entitlements.change"

    def get(self, request, kind: str):
        if kind not in EntitlementType.values:
            raise Http404
        ent = Entitlement(tenant=self.tenant, type=kind)
        return self.page(self.build_form(ent, kind), ent, kind)

    def post(self, request, kind: str):
        if kind not in EntitlementType.values:
            raise Http404
        return self.save(request, Entitlement(tenant=self.tenant, type=kind), kind)


class EntitlementEditView(EditorMixin, TenantView):
    model = Entitlement
    permission = "entitlements.view"
    post_permission = "entitlements.change"

    def get_object(self, pk: int) -> Entitlement:
        return get_object_or_404(Entitlement.objects.select_related(
            "product__publisher", "contract", "management_group", "repository", "purchase_line"), pk=pk)

    def get(self, request, pk: int):
        ent = self.get_object(pk)
        return self.page(self.build_form(ent, ent.type), ent, ent.type)

    def post(self, request, pk: int):
        ent = self.get_object(pk)
        return self.save(request, ent, ent.type)


class EntitlementActionView(TenantView):
    """One entitlement's own actions from the editor: publish, move to draft, clone, delete, convert, keys, files."""

    model = Entitlement
    permission = "entitlements.change"

    def post(self, request, pk: int):
        ent = get_object_or_404(Entitlement.objects.select_related("product__publisher"), pk=pk)
        action = request.POST.get("action", "")
        edit_url = self.tenant_url("entitlements:edit", pk=ent.pk)
        try:
            if action == "publish":
                services.entitlement_publish(entitlement=ent, actor=request.user)
                messages.success(request, _("Published."))
            elif action == "unpublish":
                services.entitlement_unpublish(entitlement=ent, actor=request.user)
                messages.success(request, _("Moved to draft."))
            elif action == "clone":
                clone = services.entitlement_clone(entitlement=ent, actor=request.user)
                messages.success(request, _("Cloned as draft #%(pk)s.") % {"pk": clone.pk})
                return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=clone.pk))
            elif action == "delete":
                services.entitlement_delete(entitlement=ent, actor=request.user)
                messages.success(request, _("Deleted."))
                return HttpResponseRedirect(self.tenant_url("entitlements:list"))
            elif action == "convert":
                form = ConvertForm(request.POST, prefix="convert")
                if not form.is_valid():
                    messages.error(request, _("Give the new metric and quantity."))
                    return HttpResponseRedirect(edit_url)
                new = services.entitlement_convert_metric(entitlement=ent, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Converted: #%(new)s supersedes #%(old)s.") % {"new": new.pk, "old": ent.pk})
                return HttpResponseRedirect(self.tenant_url("entitlements:edit", pk=new.pk))
            elif action == "key-add":
                form = LicenseKeyForm(request.POST)
                if form.is_valid():
                    services.license_key_add(entitlement=ent, actor=request.user, **form.cleaned_data)
                    messages.success(request, _("License key stored."))
            elif action == "key-delete":
                key = get_object_or_404(LicenseKey, pk=request.POST.get("key_id") or 0, entitlement=ent)
                services.license_key_delete(license_key=key, actor=request.user)
                messages.success(request, _("License key removed."))
            elif action == "document-add":
                form = DocumentForm(request.POST, request.FILES)
                if form.is_valid():
                    services.document_add(tenant=self.tenant, actor=request.user, file=form.cleaned_data["file"],
                                          entitlement=ent, name=form.cleaned_data["name"])
                    messages.success(request, _("Document attached."))
                else:
                    messages.error(request, _("Choose a file to attach."))
            elif action == "document-delete":
                doc = get_object_or_404(Document, pk=request.POST.get("document_id") or 0, entitlement=ent)
                services.document_delete(document=doc, actor=request.user)
                messages.success(request, _("Document removed."))
            else:
                messages.error(request, _("Unknown action."))
        except services.EntitlementError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(edit_url)


class ComputeView(TenantView):
    """HTMX: the editor's computed values (total, end date ⇄ duration, cost) as out-of-band fragments."""

    permission = "entitlements.change"

    def post(self, request):
        p = request.POST
        changed = request.headers.get("HX-Trigger-Name", "")
        unlimited = p.get("unlimited") in ("on", "true", "1")
        quantity = None if unlimited else _decimal(p.get("quantity", ""))
        units = _decimal(p.get("units", "")) or Decimal(1)
        term = p.get("term") or Term.PERPETUAL
        sku = (p.get("sku") or "").strip()
        if sku:  # fields the SKU locks are disabled in the page, so not posted: take them from the SKU
            locked = services.sku_defaults(tenant=self.tenant, part_numbers=[sku]).get(sku) or {}
            units = locked.get("units") or units
            term = locked.get("term") or term
        start, end = _date(p.get("start_date", "")), _date(p.get("end_date", ""))
        months = p.get("duration_months", "").strip()
        months = int(months) if months.isdigit() else None
        out_end, out_months = end, months
        if term == Term.SUBSCRIPTION and start:
            if changed == "end_date" and end:
                out_months = services.duration_for(start=start, end=end)
            elif months:
                out_end = services.end_date_for(start=start, months=months)
            elif end:
                out_months = services.duration_for(start=start, end=end)
        total = None if unlimited or quantity is None else quantity * units
        cost = services.cost_for(quantity=quantity, units=units, unlimited=unlimited,
                                 unit_cost=_decimal(p.get("unit_cost", "")),
                                 frequency=p.get("payment_frequency") or "once", term=term,
                                 duration_months=out_months)
        fragments = [
            format_html('<output id="out-total" hx-swap-oob="true">{}</output>',
                        _("unlimited") if unlimited else (_fmt(total) if total is not None else "—")),
            format_html('<output id="out-cost" hx-swap-oob="true">{}</output>',
                        f"{cost} {p.get('currency', '')}".strip() if cost is not None else "—"),
        ]
        fragments.append(format_html('<output id="sum-total" hx-swap-oob="true">{}</output>',
                                     _("unlimited") if unlimited else (_fmt(total) if total is not None else "—")))
        fragments.append(format_html('<output id="sum-cost" hx-swap-oob="true">{}</output>',
                                     f"{cost} {p.get('currency', '')}".strip() if cost is not None else "—"))
        if changed != "end_date":
            fragments.append(format_html(
                '<input type="date" name="end_date" id="id_end_date" value="{}" hx-swap-oob="true" '
                'hx-post="{}" hx-trigger="change" hx-swap="none" hx-include="closest form">',
                out_end.isoformat() if out_end else "", request.path))
        if changed != "duration_months":
            fragments.append(format_html(
                '<input type="number" name="duration_months" id="id_duration_months" min="0" value="{}" '
                'hx-swap-oob="true" hx-post="{}" hx-trigger="change" hx-swap="none" hx-include="closest form">',
                out_months if out_months is not None else "", request.path))
        return HttpResponse("".join(fragments))


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return ""
    value = Decimal(value)
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text


# ---------------------------------------------------------------------------------------------
# Autocomplete (HTML <option>s for a <datalist>, or JSON with ?format=json)


class ProductAutocomplete(TenantView):
    permission = "entitlements.view"

    def get(self, request):
        from catalog.selectors import products_visible, publishers_visible

        field = request.GET.get("field", "title")
        q = (request.GET.get("q") or request.GET.get(field) or "").strip()
        vendor = request.GET.get("vendor", "").strip()
        title = request.GET.get("title", "").strip()
        licensable = request.GET.get("licensable_only", "on" if "licensable_only" not in request.GET else "") in (
            "on", "1", "true")
        products = products_visible(tenant=self.tenant)
        if licensable:
            # "Licensable" = something sells or licenses it: a SKU or use rights in the catalog.
            products = products.filter(
                Exists(Sku.objects.filter(product=OuterRef("pk")))
                | Exists(TenantSku.objects.filter(tenant=self.tenant, product=OuterRef("pk")))
                | Exists(ProductTerms.objects.filter(product=OuterRef("pk")))
                | Exists(TenantProductTerms.objects.filter(tenant=self.tenant, product=OuterRef("pk"))))
        if field == "vendor":
            names = (publishers_visible(tenant=self.tenant).filter(name__icontains=q)
                     .filter(Exists(products.filter(publisher=OuterRef("pk")))).order_by("name")
                     .values_list("name", flat=True)[:20])
            values = [(n, n) for n in names]
        elif field in ("title", "version", "edition"):
            qs = products
            if vendor:
                qs = qs.filter(publisher__name__iexact=vendor)
            if field != "title" and title:
                qs = qs.filter(title__iexact=title)
            if q:
                qs = qs.filter(**{f"{field}__icontains": q})
            vals = qs.order_by(field).values_list(field, flat=True).distinct()[:20]
            values = [(v, v) for v in vals if v]
        else:
            values = []
        if request.GET.get("format") == "json":
            qs = products.select_related("publisher")
            for word in q.split():
                qs = qs.filter(Q(publisher__name__icontains=word) | Q(title__icontains=word)
                               | Q(version__icontains=word) | Q(edition__icontains=word))
            return JsonResponse({"results": [
                {"id": p.pk, "publisher": p.publisher.name, "title": p.title, "version": p.version,
                 "edition": p.edition, "label": str(p)} for p in qs[:20]]})
        return HttpResponse(format_html_join("", '<option value="{}">{}</option>', values))


class SkuAutocomplete(TenantView):
    permission = "entitlements.view"

    def get(self, request):
        from catalog.selectors import products_visible, skus_search

        q = (request.GET.get("q") or request.GET.get("sku") or "").strip()
        found = skus_search(tenant=self.tenant, q=q, limit=20) if q else []
        products = products_visible(tenant=self.tenant).select_related("publisher").in_bulk({s.product_id for s in found})
        if request.GET.get("format") == "json":
            return JsonResponse({"results": [
                {"sku": s.part_number, "description": s.description, "product_id": s.product_id,
                 "product": str(products.get(s.product_id, ""))} for s in found]})
        rows = [(s.part_number, f"{s.description or ''} · {products.get(s.product_id, '')}".strip(" ·"))
                for s in found]
        return HttpResponse(format_html_join("", '<option value="{}">{}</option>', rows))


# ---------------------------------------------------------------------------------------------
# Agreements, documents, repositories, renewals


class ContractList(TenantListView):
    permission = "entitlements.view"
    model = Contract
    table_class = ContractTable
    title = "Agreements"
    template_name = "entitlements/contracts.html"
    export_name = "contracts"
    filter_fields = {"number": "text", "publisher__name": "text", "name": "text", "start_date": "date",
                     "end_date": "date"}

    def get_queryset(self):
        return (Contract.objects.filter(tenant=self.tenant).select_related("publisher")
                .annotate(entitlement_count=Count("entitlements", distinct=True),
                          document_count=Count("documents", distinct=True)))

    def extra_context(self) -> dict:
        return {"can_change": self.can("entitlements.change")}


def _publisher(tenant, name: str) -> Publisher | None:
    from entitlements.importers import publishers_by_name

    name = (name or "").strip()
    return publishers_by_name(tenant=tenant, names={name}).get(name.lower()) if name else None


class ContractCreateView(TenantView):
    permission = "entitlements.change"

    def get(self, request):
        return self.render("entitlements/contract.html", {"form": ContractForm(tenant=self.tenant), "contract": None})

    def post(self, request):
        form = ContractForm(request.POST, tenant=self.tenant)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["publisher"] = _publisher(self.tenant, data.pop("publisher_name", ""))
            try:
                contract = services.contract_create(tenant=self.tenant, actor=request.user, data=data)
            except services.EntitlementError as exc:
                form.add_error("number", str(exc))
            else:
                messages.success(request, _("Agreement %(n)s created.") % {"n": contract.number})
                return HttpResponseRedirect(self.tenant_url("entitlements:contract", pk=contract.pk))
        return self.render("entitlements/contract.html", {"form": form, "contract": None}, status=400)


class ContractDetailView(TenantView):
    model = Contract
    permission = "entitlements.view"
    post_permission = "entitlements.change"

    def page(self, contract, form, status=200):
        return self.render("entitlements/contract.html", {
            "contract": contract, "form": form, "document_form": DocumentForm(),
            "documents": list(contract.documents.all()),
            "entitlements": list(contract.entitlements.select_related("product__publisher").order_by("pk")[:500]),
            "can_change": self.can("entitlements.change"),
        }, status=status)

    def get(self, request, pk: int):
        contract = get_object_or_404(Contract.objects.select_related("publisher"), pk=pk)
        return self.page(contract, ContractForm(instance=contract, tenant=self.tenant))

    def post(self, request, pk: int):
        contract = get_object_or_404(Contract.objects.select_related("publisher"), pk=pk)
        action = request.POST.get("action", "save")
        url = self.tenant_url("entitlements:contract", pk=contract.pk)
        if action == "delete":
            services.contract_delete(contract=contract, actor=request.user)
            messages.success(request, _("Agreement deleted."))
            return HttpResponseRedirect(self.tenant_url("entitlements:contracts"))
        if action == "document-add":
            form = DocumentForm(request.POST, request.FILES)
            if form.is_valid():
                services.document_add(tenant=self.tenant, actor=request.user, file=form.cleaned_data["file"],
                                      contract=contract, name=form.cleaned_data["name"])
                messages.success(request, _("Document attached."))
            else:
                messages.error(request, _("Choose a file to attach."))
            return HttpResponseRedirect(url)
        if action == "document-delete":
            doc = get_object_or_404(Document, pk=request.POST.get("document_id") or 0, contract=contract)
            services.document_delete(document=doc, actor=request.user)
            messages.success(request, _("Document removed."))
            return HttpResponseRedirect(url)
        form = ContractForm(request.POST, instance=Contract.objects.get(pk=contract.pk), tenant=self.tenant)
        if form.is_valid():
            data = dict(form.cleaned_data)
            data["publisher"] = _publisher(self.tenant, data.pop("publisher_name", ""))
            try:
                services.contract_update(contract=contract, actor=request.user, data=data)
            except services.EntitlementError as exc:
                form.add_error("number", str(exc))
                return self.page(contract, form, status=400)
            messages.success(request, _("Agreement saved."))
            return HttpResponseRedirect(url)
        return self.page(contract, form, status=400)


class DocumentDownloadView(TenantView):
    model = Document
    permission = "entitlements.view"

    def get(self, request, pk: int):
        doc = get_object_or_404(Document, pk=pk)
        try:
            handle = doc.file.open("rb")
        except (FileNotFoundError, ValueError) as exc:  # missing on disk, or no file at all
            raise Http404("file missing") from exc
        return FileResponse(handle, as_attachment=True, filename=doc.name or doc.file.name.rsplit("/", 1)[-1])


class RepositoriesView(TenantView):
    permission = "entitlements.view"
    post_permission = "entitlements.change"

    def get(self, request, form=None):
        repos = Repository.objects.filter(tenant=self.tenant).annotate(n=Count("entitlements"))
        return self.render("entitlements/repositories.html", {"repositories": repos, "form": form or RepositoryForm(),
                                                             "can_change": self.can("entitlements.change")})

    def post(self, request):
        form = RepositoryForm(request.POST)
        if form.is_valid():
            try:
                repo = services.repository_create(tenant=self.tenant, actor=request.user, name=form.cleaned_data["name"])
            except services.EntitlementError as exc:
                form.add_error("name", str(exc))
            else:
                messages.success(request, _("Repository %(n)s created.") % {"n": repo.name})
                return HttpResponseRedirect(self.tenant_url("entitlements:repositories"))
        return self.get(request, form=form)


class RepositoryDeleteView(TenantView):
    model = Repository
    permission = "entitlements.change"

    def post(self, request, pk: int):
        repo = get_object_or_404(Repository, pk=pk)
        try:
            services.repository_delete(repository=repo, actor=request.user)
            messages.success(request, _("Repository deleted."))
        except services.EntitlementError as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(self.tenant_url("entitlements:repositories"))


class RenewalsView(TenantView):
    """Subscriptions and maintenances ending in the next 30, 60 or 90 days."""

    permission = "entitlements.view"

    def get(self, request):
        days = request.GET.get("days", "90")
        days = int(days) if days in ("30", "60", "90") else 90
        today = timezone.localdate()
        rows = list(selectors.renewals_due(tenant=self.tenant, as_of=today, days=days)[:1000])
        for r in rows:
            r.days_left = (r.end_date - today).days
        return self.render("entitlements/renewals.html", {"rows": rows, "days": days, "today": today,
                                                          "choices": (30, 60, 90)})

