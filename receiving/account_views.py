"""Pages outside any tenant for clearing staff who serve several tenants: "My queues", the clearing
workspace (one queue across every tenant the user clears) and the throughput of the clearing service.

Access is decided per line, in the line's own tenant: the workspace shows lines of the tenants where
the user holds ``receiving.view`` and changes lines only where they hold ``receiving.change``. A line
of any other tenant does not exist here (404), whatever id is posted. Each action enters that
tenant's scope and calls the same service as the tenant's own queue, which audits it there.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django_scopes import scope

from receiving import selectors, services
from receiving.forms import AliasForm, BulkForm, LineFixForm, RejectForm
from receiving.models import LineStatus, PurchaseLine
from receiving.selectors import my_queues as my_queues_selector
from receiving.validation import REASONS
from receiving.views import EXPORT_FORMATS, PAGE_SIZE, CappedPaginator, export_response, reason_choices


@login_required
def my_queues(request: HttpRequest) -> HttpResponse:
    """Waiting lines per tenant and reason, for every tenant where the user may see receiving."""
    rows = my_queues_selector(user=request.user)
    for row in rows:
        row["reasons"] = [(code, n, REASONS.get(code, ("", code))[1]) for code, n in row["reasons"]]
    response = TemplateResponse(request, "receiving/my_queues.html", {"rows": rows})
    response.render()
    return response


class WorkspaceView(LoginRequiredMixin, View):
    """Base of the workspace pages: the user's tenants for reading and for changing."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.readable, self.writable = selectors.workspace_tenants_for(user=request.user)
        return super().dispatch(request, *args, **kwargs)

    def render(self, template: str, context: dict[str, Any], tenants) -> TemplateResponse:
        response = TemplateResponse(self.request, template, context)
        with scope(tenant=list(tenants)):
            response.render()  # inside the scope: the template reads the lines
        return response

    def line(self, pk: int, *, change: bool) -> PurchaseLine:
        """The line ``pk`` when it belongs to a tenant the user may read (``change``: change); else 404."""
        tenants = self.writable if change else self.readable
        if not tenants:
            raise Http404
        with scope(tenant=tenants):
            line = (PurchaseLine.objects.filter(tenant__in=[t.pk for t in tenants], pk=pk)
                    .select_related("tenant", "batch", "assigned_to").first())
        if line is None:
            raise Http404
        return line

    def can_change(self, tenant_id: int) -> bool:
        return any(t.pk == tenant_id for t in self.writable)

    def row(self, line: PurchaseLine, *, editing: bool = False, form=None, error: str = "") -> TemplateResponse:
        with scope(tenant=line.tenant):
            line = PurchaseLine.objects.select_related("tenant", "batch", "assigned_to").get(pk=line.pk)
        line.can_change = self.can_change(line.tenant_id)
        return self.render("receiving/partials/line_row.html", {
            "ws": True, "line": line, "editing": editing, "form": form, "error": error,
            "perm": {"receiving_change": bool(self.writable)}}, [line.tenant])

    def back(self) -> HttpResponseRedirect:
        target = self.request.POST.get("next", "")
        if not target.startswith("/receiving/workspace/"):
            target = reverse("receiving-workspace")
        return HttpResponseRedirect(target)


class WorkspacePageView(WorkspaceView):
    """One clearing queue across every tenant the user clears, with the same filters, fixes and bulk
    actions as a tenant's queue, a tenant column and filter, and the service-level figures."""

    def get(self, request):
        tenants = self.readable
        filters = selectors.QueueFilters.from_query(request.GET)
        with scope(tenant=tenants):
            qs = selectors.workspace_lines(tenants=tenants, filters=filters, user=request.user)
            fmt = request.GET.get("export")
            if fmt:
                return export_response(qs.select_related("tenant", "assigned_to"), fmt, "clearing-workspace")
            page = CappedPaginator(qs.select_related("tenant", "batch", "assigned_to"),
                                   PAGE_SIZE).get_page(request.GET.get("page"))
            writable = {t.pk for t in self.writable}
            for line in page.object_list:
                line.can_change = line.tenant_id in writable
        params = request.GET.copy()
        params.pop("page", None)
        ctx = {"ws": True, "page": page, "filters": filters, "query": params.urlencode(), "tenants": tenants,
               "reasons": reason_choices(), "statuses": LineStatus.choices, "export_formats": EXPORT_FORMATS,
               "perm": {"receiving_change": bool(self.writable), "export": True}}
        if request.htmx and request.htmx.target == "queue-table":
            response = self.render("receiving/partials/queue_table.html", ctx, tenants)
        else:
            ctx["clerks"] = _clerks(self.writable)
            ctx["writable"] = self.writable
            response = self.render("receiving/workspace.html", ctx, tenants)
        response["Vary"] = "HX-Request"
        return response


class WorkspaceSummaryView(WorkspaceView):
    """The workspace's figures, ageing breaches and unknown part numbers (loaded after the list, so the
    list shows at once however many lines wait)."""

    def get(self, request):
        from catalog.aliases import alias_library_can_edit

        tenants = self.readable
        with scope(tenant=tenants):
            ctx = {"figures": selectors.workspace_figures(tenants=tenants, user=request.user),
                   "breaches": selectors.breaches(tenants=tenants),
                   "sku_groups": selectors.workspace_sku_groups(tenants=self.writable),
                   "can_edit_library": alias_library_can_edit(user=request.user),
                   "next": request.GET.get("next", "")}
        return self.render("receiving/partials/workspace_summary.html", ctx, tenants)


def _clerks(tenants) -> list[Any]:
    """Users holding ``receiving.change`` in any of ``tenants`` (candidates for an assignment; one query)."""
    from sam.models import Membership

    seen: dict[int, Any] = {}
    for member in Membership.objects.filter(tenant__in=list(tenants)).select_related("user"):
        if member.has_perm("receiving.change"):
            seen.setdefault(member.user_id, member.user)
    return sorted(seen.values(), key=lambda u: u.username)


class WorkspaceLineFixView(WorkspaceView):
    """A workspace line's inline editor: the tenant queue's correction, in the line's own tenant."""

    model = PurchaseLine

    def get(self, request, pk: int):
        line = self.line(pk, change=False)
        if request.GET.get("cancel") or not self.can_change(line.tenant_id):
            return self.row(line)
        form = LineFixForm(initial={k: line.values.get(k, "") for k in LineFixForm.base_fields})
        return self.row(line, editing=True, form=form)

    def post(self, request, pk: int):
        line = self.line(pk, change=True)
        form = LineFixForm(request.POST)
        if not form.is_valid():
            return self.row(line, editing=True, form=form)
        try:
            with scope(tenant=line.tenant):
                services.line_correct(line=line, actor=request.user, changes=form.cleaned_data)
        except services.NotWaiting as exc:
            return self.row(line, error=str(exc))
        return self.row(line)

class WorkspaceLineRejectView(WorkspaceView):
    model = PurchaseLine

    def post(self, request, pk: int):
        line = self.line(pk, change=True)
        form = RejectForm(request.POST)
        error = ""
        if form.is_valid():
            try:
                with scope(tenant=line.tenant):
                    services.line_reject(line=line, actor=request.user, note=form.cleaned_data["note"])
            except ValueError as exc:
                error = str(exc)
        else:
            error = _("Say why the line is rejected.")
        if request.htmx:
            return self.row(line, error=error)
        (messages.error if error else messages.success)(request, error or _("Line rejected."))
        return self.back()


class WorkspaceAliasView(WorkspaceView):
    """Map a part number from a workspace line: for this customer (the line's tenant) or for all
    customers (the service's alias library, for library editors only)."""

    model = PurchaseLine

    def post(self, request, pk: int):
        line = self.line(pk, change=True)
        form = AliasForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the part number and the catalog SKU."))
            return self.back()
        data = form.cleaned_data
        try:
            with scope(tenant=line.tenant):
                result = services.sku_alias_map(tenant=line.tenant, actor=request.user, alias=data["alias"],
                                                part_number=data["part_number"], scope=data["scope"],
                                                supplier=data["supplier"])
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("You may not change the alias library."))
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            where = _("for all customers") if data["scope"] == "library" else line.tenant.name
            messages.success(request, _("%(a)s now means %(s)s (%(w)s): %(t)d of %(n)d waiting lines of %(c)s "
                                        "transferred.")
                             % {"a": data["alias"], "s": data["part_number"], "w": where, "t": result.transferred,
                                "n": result.read, "c": line.tenant.name})
        return self.back()


class WorkspaceBulkView(WorkspaceView):
    """A bulk action on ticked lines or on all lines matching the workspace's filters, executed per
    tenant, inside that tenant's scope, through ``services.lines_bulk``. Ids of tenants where the user
    may not change receiving are ignored (they do not exist for this user)."""

    def post(self, request):
        form = BulkForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for e in form.errors.get("__all__", [])) or _("Choose an action."))
            return self.back()
        data = form.cleaned_data
        tenants = self.writable
        if not tenants:
            raise Http404
        with scope(tenant=tenants):
            if data["all_matching"]:
                filters = selectors.QueueFilters.from_query(QueryDict(data["query"] or ""))
                qs = selectors.workspace_lines(tenants=tenants, filters=filters, user=request.user)
            else:
                qs = PurchaseLine.objects.filter(tenant__in=[t.pk for t in tenants], id__in=data["selected"])
            per_tenant: dict[int, list[int]] = defaultdict(list)
            for tenant_id, line_id in qs.values_list("tenant_id", "id"):
                per_tenant[tenant_id].append(line_id)
        assignee = None
        if data["action"] == "assign":
            assignee = get_user_model().objects.filter(username=data["assignee"]).first()
            if assignee is None:
                messages.error(request, _("No clerk is called %(u)s.") % {"u": data["assignee"]})
                return self.back()
        done = {"lines": 0, "transferred": 0}
        for tenant in tenants:
            ids = per_tenant.get(tenant.pk)
            if not ids:
                continue
            try:
                with scope(tenant=tenant):
                    counts = services.lines_bulk(tenant=tenant, actor=request.user, action=data["action"],
                                                 line_ids=ids, value=data["value"], assignee=assignee)
            except ValueError as exc:
                messages.error(request, f"{tenant.name}: {exc}")
                continue
            done = {k: done[k] + counts[k] for k in done}
        messages.success(request, _("%(action)s: %(n)d lines in %(c)d customers; %(t)d transferred.")
                         % {"action": dict(form.fields["action"].choices)[data["action"]], "n": done["lines"],
                            "c": len(per_tenant), "t": done["transferred"]})
        return self.back()


class ThroughputView(WorkspaceView):
    """The service manager's view: lines cleared and rejected per clerk and customer, and ageing breaches.

    Shows the tenants where the user holds ``receiving.view``; everything else stays invisible.
    """

    def get(self, request):
        try:
            days = max(1, min(365, int(request.GET.get("days", "30"))))
        except ValueError:
            days = 30
        since = timezone.now() - dt.timedelta(days=days)
        tenants = self.readable
        with scope(tenant=tenants):
            rows = selectors.throughput(tenants=tenants, since=since)
            breaches = selectors.breaches(tenants=tenants)
        per_clerk: dict[str, dict[str, int]] = defaultdict(lambda: {"cleared": 0, "rejected": 0})
        for row in rows:
            name = row["user"].username if row["user"] else _("(import, API or system)")
            per_clerk[name]["cleared"] += row["cleared"]
            per_clerk[name]["rejected"] += row["rejected"]
        return self.render("receiving/throughput.html", {
            "rows": rows, "per_clerk": sorted(per_clerk.items()), "breaches": breaches, "days": days}, tenants)
