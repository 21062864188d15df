"""Requirement pages: list, detail, confirmation queue, data quality, manual entry, recompute.

Thin views: parse → access → selector/service → render. Mutations are POST only and call the
services in ``confirmations`` and ``services``.
"""
from __future__ import annotations

from decimal import Decimal

import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Product
from inventory.models import Device, Person
from requirements_engine.confirmations import (
    requirement_manual_delete,
    requirement_manual_save,
    requirements_confirm,
    requirements_mark_unauthorised,
)
from requirements_engine.models import Requirement
from requirements_engine.selectors_requirements import (
    confirmation_queue,
    format_quantity,
    queue_requirements,
    requirement_counts,
    requirement_detail,
    requirements_queryset,
)
from requirements_engine.tables_requirements import QueueTable, RequirementTable
from sam.lists import TenantListView
from sam.models import Job
from sam.views import TenantView


class PermsMixin:
    """Template flags for the actions a member may take (templates cannot call ``can(perm)``)."""

    def render(self, template, context=None, **kwargs):
        ctx = {"perm_change": self.can("requirements.change"), "perm_confirm": self.can("requirements.confirm")}
        ctx.update(context or {})
        return super().render(template, ctx, **kwargs)


FILTERS = {
    "device__name": "text", "person__username": "text", "consumer_type": "choice",
    "product__publisher__name": "text", "product__title": "text", "product__version": "text",
    "license_model": "text", "quantity": "number", "confirmation": "choice", "effective": "bool",
    "is_secondary": "bool", "manual": "bool", "error": "text",
}


class RequirementList(PermsMixin, TenantListView):
    permission = "requirements.view"
    model = Requirement
    table_class = RequirementTable
    title = gettext_lazy("License requirements")
    template_name = "requirements_engine/requirements/list.html"
    filter_fields = FILTERS
    export_name = "requirements"

    def get_queryset(self):
        return requirements_queryset(tenant=self.tenant)

    def extra_context(self) -> dict:
        last = Job.objects.filter(kind="recompute").order_by("-created_at").first()
        return {"counts": requirement_counts(tenant=self.tenant), "last_job": last,
                "section": self.request.resolver_match.url_name if self.request.resolver_match else ""}


class DataQualityList(RequirementList):
    """Requirements the engine could not compute: missing host, principal user, facts or license model."""

    title = gettext_lazy("Requirements with data-quality errors")
    table_key = "requirements.dataquality"

    def get_queryset(self):
        return requirements_queryset(tenant=self.tenant).exclude(error="")


class RequirementDetail(PermsMixin, TenantView):
    permission = "requirements.view"
    model = Requirement

    def get(self, request, pk: int):
        requirement = get_object_or_404(Requirement.objects.select_related("device", "person", "product",
                                                                           "product__publisher"), pk=pk)
        ctx = {"req": requirement, "quantity": format_quantity(requirement.quantity),
               **requirement_detail(requirement=requirement)}
        return self.render("requirements_engine/requirements/detail.html", ctx)


class ConfirmationQueue(PermsMixin, TenantView):
    """Unconfirmed requirements per product; bulk confirm or mark not authorised (removal requested)."""

    permission = "requirements.view"
    post_permission = "requirements.confirm"

    def get(self, request):
        products = confirmation_queue(tenant=self.tenant)
        product_id = request.GET.get("product") or (str(products[0]["product_id"]) if products else "")
        table = None
        from sam.params import param_id

        if param_id(product_id):
            table = QueueTable(queue_requirements(tenant=self.tenant, product_id=param_id(product_id)), request=request)
            tables.RequestConfig(request, paginate={"per_page": 100}).configure(table)
        return self.render("requirements_engine/requirements/queue.html",
                           {"products": products, "table": table, "product_id": product_id})

    def post(self, request):
        ids = [int(i) for i in request.POST.getlist("selected") if i.isdigit()]
        action = request.POST.get("action")
        if not ids:
            messages.warning(request, _("Select at least one requirement."))
        elif action == "unauthorised":
            n = requirements_mark_unauthorised(tenant=self.tenant, requirement_ids=ids, actor=request.user,
                                               note=request.POST.get("note", ""))
            messages.success(request, _("%(n)s requirements marked not authorised.") % {"n": n})
        else:
            n = requirements_confirm(tenant=self.tenant, requirement_ids=ids, actor=request.user)
            messages.success(request, _("%(n)s requirements confirmed.") % {"n": n})
        query = f"?product={request.POST['product']}" if request.POST.get("product", "").isdigit() else ""
        return HttpResponseRedirect(self.tenant_url("requirements:queue") + query)


class ManualRequirementForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=gettext_lazy("Product"))
    device = forms.CharField(required=False, label=gettext_lazy("Device name"))
    person = forms.CharField(required=False, label=gettext_lazy("Username"))
    license_model = forms.ChoiceField(choices=(), label=gettext_lazy("License model"))
    quantity = forms.DecimalField(min_value=Decimal(0), max_digits=14, decimal_places=4,
                                  label=gettext_lazy("Quantity"))
    note = forms.CharField(required=False, max_length=300, label=gettext_lazy("Note"))

    def __init__(self, *args, tenant, **kwargs):
        from catalog.selectors import license_models_effective, products_visible

        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.fields["product"].queryset = products_visible(tenant=tenant).select_related("publisher")
        self.fields["license_model"].choices = [(n, n) for n in license_models_effective(tenant=tenant)]

    def clean(self):
        data = super().clean()
        device, person = (data.get("device") or "").strip(), (data.get("person") or "").strip()
        if bool(device) == bool(person):
            raise ValidationError(_("Give either a device name or a username."))
        if device:
            data["device_obj"] = Device.objects.filter(name=device).first()
            if data["device_obj"] is None:
                self.add_error("device", _("No device with this name."))
        if person:
            data["person_obj"] = Person.objects.filter(username=person).first()
            if data["person_obj"] is None:
                self.add_error("person", _("No person with this username."))
        return data


class ManualRequirementCreate(PermsMixin, TenantView):
    permission = "requirements.change"

    def get(self, request):
        return self._page(ManualRequirementForm(tenant=self.tenant), None)

    def _page(self, form, requirement):
        return self.render("requirements_engine/requirements/form.html", {"form": form, "req": requirement})

    def post(self, request):
        form = ManualRequirementForm(request.POST, tenant=self.tenant)
        return self._save(form, None)

    def _save(self, form, requirement):
        if not form.is_valid():
            return self._page(form, requirement)
        data = form.cleaned_data
        try:
            req = requirement_manual_save(tenant=self.tenant, actor=self.request.user, product=data["product"],
                                          quantity=data["quantity"], license_model=data["license_model"],
                                          device=data.get("device_obj"), person=data.get("person_obj"),
                                          note=data.get("note", ""), requirement=requirement)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self._page(form, requirement)
        messages.success(self.request, _("Manual requirement saved."))
        return HttpResponseRedirect(self.tenant_url("requirements:detail", pk=req.pk))


class ManualRequirementEdit(ManualRequirementCreate):
    """Edit a requirement by hand; an automatic one becomes manual (the engine leaves it alone)."""

    model = Requirement

    def get(self, request, pk: int):
        req = get_object_or_404(Requirement.objects.select_related("device", "person"), pk=pk)
        form = ManualRequirementForm(tenant=self.tenant, initial={
            "product": req.product_id, "device": req.device.name if req.device_id else "",
            "person": req.person.username if req.person_id else "", "license_model": req.license_model,
            "quantity": req.quantity, "note": req.note})
        return self._page(form, req)

    def post(self, request, pk: int):
        req = get_object_or_404(Requirement, pk=pk)
        if request.POST.get("action") == "delete":
            try:
                requirement_manual_delete(tenant=self.tenant, actor=request.user, requirement=req)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return HttpResponseRedirect(self.tenant_url("requirements:detail", pk=pk))
            messages.success(request, _("Manual requirement deleted."))
            return HttpResponseRedirect(self.tenant_url("requirements:list"))
        return self._save(ManualRequirementForm(request.POST, tenant=self.tenant), req)


class RecomputeView(TenantView):
    """POST: request a recompute of the tenant and show the job's progress partial."""

    permission = "requirements.change"

    def post(self, request):
        from requirements_engine.services import recompute_request

        job = recompute_request(tenant=self.tenant, reason=f"requested by {request.user.username}",
                                actor=request.user)
        job.refresh_from_db()
        if request.htmx:
            return self.render("sam/partials/job.html", {"job": job})
        return HttpResponseRedirect(self.tenant_url("job", pk=job.pk))
