"""The shell's own pages and the base every tenant view builds on."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from sam.audit import audit_record
from sam.forms import MemberAddForm, MemberRoleForm
from sam.models import AuditEvent, Job, Membership, Role


class TenantView(LoginRequiredMixin, View):
    """Base of every ``/t/<slug>/`` view: the middleware has entered the scope; this checks the role.

    ``permission`` names what the view needs to be reached at all; ``post_permission`` what a POST
    needs (defaults to ``permission``). ``also_requires`` names further permissions every request
    needs, for a view that hands out what other pages show (the audit pack holds the balance, the
    requirements and the entitlements, so it needs their permissions too).
    """

    permission: str = ""
    post_permission: str = ""
    also_requires: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        kwargs.pop("tenant", None)
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.membership is None:  # pragma: no cover - the middleware 404s first
            raise PermissionDenied
        needed = self.permission
        if request.method == "POST" and self.post_permission:
            needed = self.post_permission
        if not needed:
            raise PermissionDenied("view declares no permission")
        if not all(request.membership.has_perm(p) for p in (needed, *self.also_requires)):
            raise PermissionDenied
        self.tenant = request.tenant
        self.membership = request.membership
        return super().dispatch(request, *args, **kwargs)

    def can(self, perm: str) -> bool:
        return self.membership.has_perm(perm)

    def tenant_url(self, name: str, *args, **kwargs) -> str:
        return reverse(name, args=args, kwargs={"tenant": self.tenant.slug, **kwargs})

    def render(self, template: str, context: dict | None = None, **kwargs) -> TemplateResponse:
        ctx = {"view": self, "can": self.can}
        ctx.update(context or {})
        return TemplateResponse(self.request, template, ctx, **kwargs)


def home(request: HttpRequest) -> HttpResponse:
    """After login: straight into the only tenant, or a picker when there are several."""
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = list(Membership.objects.filter(user=request.user).select_related("tenant"))
    wanted = request.GET.get("t", "")
    if wanted and any(m.tenant.slug == wanted for m in memberships):  # the tenant switcher
        return redirect("dashboard", tenant=wanted)
    if memberships and all(m.role == Role.CLEARING for m in memberships):
        # Clearing staff land on their workspace: one queue across the tenants they clear.
        return redirect("receiving-workspace")
    if len(memberships) == 1:
        return redirect("dashboard", tenant=memberships[0].tenant.slug)
    return TemplateResponse(request, "sam/home.html", {"memberships": memberships})


class DashboardView(TenantView):
    permission = "dashboard.view"

    def get(self, request):
        from sam.dashboard import dashboard_context

        return self.render("sam/dashboard.html", dashboard_context(tenant=self.tenant, membership=self.membership))


class MembersView(TenantView):
    permission = "members.manage"

    def get(self, request):
        return self._page(MemberAddForm())

    def _page(self, form):
        members = Membership.objects.filter(tenant=self.tenant).select_related("user").order_by("user__username")
        return self.render("sam/members.html", {"members": members, "form": form, "roles": Role.choices})

    def post(self, request):
        form = MemberAddForm(request.POST)
        if not form.is_valid():
            return self._page(form)
        User = get_user_model()
        username = form.cleaned_data["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            # A new person: they need an initial password that passes the password rules.
            from django.contrib.auth.password_validation import validate_password
            from django.core.exceptions import ValidationError

            password = form.cleaned_data.get("password") or ""
            candidate = User(username=username, email=form.cleaned_data.get("email", ""))
            try:
                if not password:
                    raise ValidationError(_("A new user needs an initial password."))
                validate_password(password, candidate)
            except ValidationError as exc:
                form.add_error("password", exc)
                return self._page(form)
        try:
            with transaction.atomic():
                if user is None:
                    user = candidate
                    user.set_password(password)
                    user.save()
                membership = Membership.objects.create(user=user, tenant=self.tenant, role=form.cleaned_data["role"])
                audit_record(tenant=self.tenant, actor=request.user, action="sam.membership.created", obj=membership,
                             after={"user": user.username, "role": membership.role})
        except IntegrityError:
            form.add_error("username", _("This user is already a member."))
            return self._page(form)
        messages.success(request, _("%(user)s added as %(role)s.") % {"user": user.username,
                                                                      "role": membership.get_role_display()})
        return HttpResponseRedirect(self.tenant_url("members"))


class MemberChangeView(TenantView):
    permission = "members.manage"
    model = Membership

    def post(self, request, pk: int):
        membership = get_object_or_404(Membership, pk=pk, tenant=self.tenant)
        if request.POST.get("action") == "remove":
            if membership.user_id == request.user.id:
                messages.error(request, _("You cannot remove yourself."))
            else:
                with transaction.atomic():
                    audit_record(tenant=self.tenant, actor=request.user, action="sam.membership.removed",
                                 obj=membership, before={"user": membership.user.username, "role": membership.role})
                    membership.delete()
                messages.success(request, _("Member removed."))
            return HttpResponseRedirect(self.tenant_url("members"))
        form = MemberRoleForm(request.POST)
        if form.is_valid():
            before = membership.role
            membership.role = form.cleaned_data["role"]
            with transaction.atomic():
                membership.save(update_fields=["role"])
                audit_record(tenant=self.tenant, actor=request.user, action="sam.membership.role_changed",
                             obj=membership, before={"role": before}, after={"role": membership.role})
            messages.success(request, _("Role changed."))
        return HttpResponseRedirect(self.tenant_url("members"))


class AuditView(TenantView):
    """The audit trail: who changed what and when, filterable, paginated, exportable as TSV."""

    permission = "audit.view"
    TEXT_FILTERS = ("action", "object_type", "actor_label")

    def get(self, request):
        from django.core.paginator import Paginator

        qs, filters = self.filtered(request.GET)
        fmt = request.GET.get("export", "")
        if fmt:
            return self.export(qs, fmt)
        page = Paginator(qs, 50).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        export_query = query.copy()
        export_query.pop("export", None)
        template = "sam/audit.html#results" if request.htmx and not request.htmx.boosted else "sam/audit.html"
        response = self.render(template, {"page": page, "filters": filters, "query": query.urlencode(),
                                          "export_query": export_query.urlencode()})
        response["Vary"] = "HX-Request"
        return response

    def filtered(self, params):
        """The events matching the filter bar: text filters (contains), exact object id, date range."""
        import datetime as dt

        qs = AuditEvent.objects.select_related("actor").order_by("-at", "-id")
        filters = {}
        for field in self.TEXT_FILTERS:
            value = params.get(field, "").strip()
            filters[field] = value
            if value:
                qs = qs.filter(**{f"{field}__icontains": value})
        object_id = params.get("object_id", "").strip()
        filters["object_id"] = object_id
        if object_id:
            qs = qs.filter(object_id=object_id)
        for name, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
            value = params.get(name, "").strip()
            filters[name] = value
            if value:
                try:
                    qs = qs.filter(**{lookup: dt.date.fromisoformat(value)})
                except ValueError:
                    filters[name] = ""
        return qs, filters

    def export(self, qs, fmt: str):
        from django.http import HttpResponse, StreamingHttpResponse
        from django_scopes import scope

        from sam.exports import FORMATS, iter_delimited, xlsx_bytes

        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
        header = ["at", "actor", "action", "object_type", "object_id", "object", "field", "before", "after", "note"]
        tenant = self.tenant

        def rows():
            for event in qs.order_by("at", "id").iterator(chunk_size=2000):
                changes = event.changes or [("", None, None)]
                for name, old, new in changes:
                    yield [event.at, event.actor_label, event.action, event.object_type, event.object_id,
                           event.object_repr, name, _flat(old), _flat(new), event.note]

        filename = f"{tenant.slug}-audit.{fmt}"
        if fmt == "xlsx":
            response = HttpResponse(xlsx_bytes(header, rows(), title="audit"), content_type=FORMATS[fmt])
        else:
            def stream():
                with scope(tenant=tenant):  # streamed after the middleware left the scope
                    yield from (chunk.encode("utf-8") for chunk in iter_delimited(header, rows(), fmt))

            response = StreamingHttpResponse(stream(), content_type=f"{FORMATS[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _flat(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


class JobView(TenantView):
    """A job's progress; HTMX polls the partial until the job finishes."""

    permission = "jobs.view"
    model = Job

    def get(self, request, pk: int):
        job = get_object_or_404(Job, pk=pk)
        template = "sam/partials/job.html" if request.htmx else "sam/job.html"
        response = self.render(template, {"job": job})
        response["Vary"] = "HX-Request"
        return response
