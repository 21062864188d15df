"""The shell's own pages and the base every tenant view builds on."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from sam import services
from sam.forms import (
    AcceptNewAccountForm,
    InvitationForm,
    MemberRoleForm,
    TenantCreateForm,
    TenantSettingsForm,
    role_choices,
)
from sam.hooks import hook_run
from sam.models import AuditEvent, Invitation, Job, Membership, Role


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
        missing = [p for p in (needed, *self.also_requires) if not request.membership.has_perm(p)]
        if missing:
            raise PermissionDenied(_("the permission “%(perm)s”") % {"perm": ", ".join(missing)})
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


class SearchView(TenantView):
    """The header's search box: devices, persons, products, SKUs, licenses, agreements, purchase lines."""

    permission = "dashboard.view"

    def get(self, request):
        from sam.search import MIN_LENGTH, global_search

        q = request.GET.get("q", "")
        groups = global_search(tenant=self.tenant, membership=self.membership, q=q)
        return self.render("sam/search.html", {"q": q, "groups": groups, "min_length": MIN_LENGTH,
                                               "total": sum(len(g.hits) for g in groups)})


class MembersView(TenantView):
    """Members and open invitations; an admin invites people (a one-time link), never sets passwords."""

    permission = "members.manage"

    def get(self, request):
        return self._page(InvitationForm())

    def _page(self, form, **extra):
        members = Membership.objects.filter(tenant=self.tenant).select_related("user").order_by("user__username")
        invitations = (Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True)
                       .select_related("invited_by").order_by("-created_at"))
        return self.render("sam/members.html", {"members": members, "form": form, "roles": role_choices(),
                                                "invitations": invitations, **extra})

    def post(self, request):
        form = InvitationForm(request.POST)
        if not form.is_valid():
            return self._page(form)
        invitation, token = services.invitation_create(
            tenant=self.tenant, actor=request.user, username=form.cleaned_data["username"],
            email=form.cleaned_data["email"], role=form.cleaned_data["role"])
        link = request.build_absolute_uri(reverse("invitation-accept", kwargs={"token": token}))
        mailed = services.invitation_send(invitation=invitation, link=link)
        # The link is shown once, here; only its hash is stored.
        return self._page(InvitationForm(), invitation=invitation, invitation_link=link, mailed=mailed)


class MemberChangeView(TenantView):
    """Change a member's role (POST). The last administrator keeps the role."""

    permission = "members.manage"
    model = Membership

    def post(self, request, pk: int):
        membership = get_object_or_404(Membership, pk=pk, tenant=self.tenant)
        form = MemberRoleForm(request.POST)
        if form.is_valid():
            try:
                services.membership_change_role(membership=membership, actor=request.user,
                                                role=form.cleaned_data["role"])
            except services.MembershipError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Role changed."))
        return HttpResponseRedirect(self.tenant_url("members"))


class MemberRemoveView(TenantView):
    """Remove a member: GET asks for confirmation, POST removes."""

    permission = "members.manage"
    model = Membership

    def get(self, request, pk: int):
        membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk, tenant=self.tenant)
        return self.render("sam/member_remove.html", {"member": membership})

    def post(self, request, pk: int):
        membership = get_object_or_404(Membership, pk=pk, tenant=self.tenant)
        if request.POST.get("confirm") != "yes":
            return HttpResponseRedirect(self.tenant_url("member-remove", pk=pk))
        try:
            services.membership_remove(membership=membership, actor=request.user)
        except services.MembershipError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Member removed."))
        return HttpResponseRedirect(self.tenant_url("members"))


class InvitationRevokeView(TenantView):
    permission = "members.manage"
    model = Invitation

    def post(self, request, pk: int):
        invitation = get_object_or_404(Invitation, pk=pk)
        services.invitation_revoke(invitation=invitation, actor=request.user)
        messages.success(request, _("Invitation withdrawn; its link no longer works."))
        return HttpResponseRedirect(self.tenant_url("members"))


class InvitationAcceptView(View):
    """The invitation link, opened outside any tenant: log in and join, or create an account and join."""

    def dispatch(self, request, token: str):
        self.token = token
        self.invitation = services.invitation_by_token(token=token)
        if self.invitation is None:
            raise Http404(_("This invitation link is not valid."))
        return super().dispatch(request)

    def _page(self, form=None, error: str = "", status: int = 200):
        return TemplateResponse(self.request, "sam/invitation_accept.html", {
            "invitation": self.invitation, "form": form, "error": error,
            "login_url": f"{reverse('login')}?next={self.request.path}"}, status=status)

    def get(self, request):
        if not self.invitation.is_open:
            return self._page(error=_("This invitation was already used, was withdrawn or has expired. "
                                      "Ask your administrator for a new one."), status=410)
        form = None if request.user.is_authenticated else AcceptNewAccountForm(
            initial={"username": self.invitation.username}, email=self.invitation.email)
        return self._page(form)

    def post(self, request):
        form = None
        try:
            if request.user.is_authenticated:
                membership = services.invitation_accept(token=self.token, user=request.user)
            else:
                form = AcceptNewAccountForm(request.POST, email=self.invitation.email)
                if not form.is_valid():
                    return self._page(form)
                membership = services.invitation_accept(token=self.token, username=form.cleaned_data["username"],
                                                        password=form.cleaned_data["password1"])
                login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
        except ValidationError as exc:
            form.add_error("password1", exc)
            return self._page(form)
        except services.MembershipError as exc:
            if form is not None:
                form.add_error(None, str(exc))
                return self._page(form)
            return self._page(error=str(exc))
        messages.success(request, _("Welcome to %(tenant)s.") % {"tenant": membership.tenant.name})
        return redirect("dashboard", tenant=membership.tenant.slug)


class StaffTenantCreateView(LoginRequiredMixin, View):
    """Staff only: create a tenant and invite its first administrator."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_staff:
            raise PermissionDenied(_("Only staff of the service create tenants."))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return TemplateResponse(request, "sam/staff_tenant_create.html", {"form": TenantCreateForm()})

    def post(self, request):
        form = TenantCreateForm(request.POST)
        ctx: dict = {"form": form}
        if form.is_valid():
            try:
                tenant, invitation, token = services.tenant_create_with_admin(
                    slug=form.cleaned_data["slug"], name=form.cleaned_data["name"],
                    admin_username=form.cleaned_data["admin_username"],
                    admin_email=form.cleaned_data["admin_email"], actor=request.user)
            except (services.MembershipError, ValueError) as exc:
                form.add_error("slug", str(exc))
            else:
                link = request.build_absolute_uri(reverse("invitation-accept", kwargs={"token": token}))
                mailed = services.invitation_send(invitation=invitation, link=link)
                ctx = {"form": TenantCreateForm(), "created": tenant, "invitation": invitation,
                       "invitation_link": link, "mailed": mailed}
        return TemplateResponse(request, "sam/staff_tenant_create.html", ctx)


class SettingsView(TenantView):
    """The settings that decide the numbers: relevant asset statuses and proof of purchase."""

    permission = "settings.manage"

    def _form(self, data=None):
        # The estate app tells which asset statuses its devices carry (hook: no app import in the core).
        counts = [pair for found in hook_run("settings.status_counts", tenant=self.tenant) for pair in found]
        return TenantSettingsForm(
            data, status_counts=counts,
            current=list(self.tenant.relevant_device_statuses or []),
            initial={"require_proof": bool(self.tenant.setting("entitlements_require_proof", False))})

    def get(self, request):
        return self.render("sam/settings.html", {"form": self._form()})

    def post(self, request):
        form = self._form(request.POST)
        if form.is_valid():
            try:
                services.tenant_settings_update(tenant=self.tenant, actor=request.user,
                                                relevant_statuses=form.statuses(),
                                                require_proof=form.cleaned_data["require_proof"])
            except ValueError as exc:
                form.add_error("relevant_statuses", str(exc))
            else:
                messages.success(request, _("Settings saved; the numbers are being recomputed with them."))
                return HttpResponseRedirect(self.tenant_url("settings"))
        return self.render("sam/settings.html", {"form": form})


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
