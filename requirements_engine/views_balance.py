"""Pages of the compliance balance: the balance, a position, reconciliation per publisher, dashboards,
exemptions and "what changed and why". Views parse, check access, call selectors/services, render.
"""
from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django_scopes import scope

from requirements_engine import exporters_balance  # noqa: F401 - registers the exports
from requirements_engine.exporters_balance import BALANCE_COLUMNS, audit_pack, balance_export_rows
from requirements_engine.models import BalanceRow, Requirement
from requirements_engine.models_balance import Exemption, ReconciliationScope
from requirements_engine.selectors_balance import (
    balance_changes,
    balance_days,
    balance_latest_day,
    balance_rows,
    balance_trend,
    compliance_by_publisher,
    exemptions_list,
    position_detail,
    reconciliation,
    rows_filtered,
    savings,
    top_shortfalls,
)
from sam.exports import FORMATS, iter_delimited, xlsx_bytes
from sam.views import TenantView

# Columns of the balance page a user may show (the export always has all of them).
COLUMNS = [("publisher", _lazy("Publisher")), ("product", _lazy("Product")), ("version", _lazy("Version")),
           ("edition", _lazy("Edition")), ("license_model", _lazy("License model")), ("metric", _lazy("Metric")),
           ("required", _lazy("Required")), ("purchased", _lazy("Purchased")), ("covered", _lazy("Covered")),
           ("shortfall", _lazy("Shortfall")), ("surplus", _lazy("Surplus")), ("status", _lazy("Status")),
           ("unconfirmed", _lazy("Unconfirmed")), ("shortfall_cost", _lazy("Shortfall cost")), ("expiring", _lazy("Expiring"))]
DEFAULT_COLUMNS = ["publisher", "product", "version", "edition", "license_model", "required", "purchased", "covered",
                   "shortfall", "surplus", "status", "unconfirmed", "shortfall_cost"]
SORTS = {"publisher": lambda r: (r.product.publisher.name, r.product.title, r.product.version_sort),
         "shortfall": lambda r: (-r.shortfall, r.product.publisher.name),
         "cost": lambda r: (-(r.shortfall_cost or 0), r.product.publisher.name),
         "surplus": lambda r: (-r.surplus, r.product.publisher.name)}


class BalanceBase(TenantView):
    """Adds what the member may do (``may.requirements_change`` ...) for the templates."""

    def render(self, template: str, context: dict | None = None, **kwargs):
        may = {"requirements_change": self.can("requirements.change"),
               "reconciliation_change": self.can("reconciliation.change"), "export": self.can("export")}
        return super().render(template, {"may": may, **(context or {})}, **kwargs)


def parse_day(value: str | None, default: dt.date | None = None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


class BalanceView(BalanceBase):
    """The balance: one row per position, filters, column choice, export, as-of day and what-if repository."""

    permission = "balance.view"
    post_permission = "requirements.change"

    def get(self, request):
        from entitlements.models import Repository

        today = dt.date.today()
        as_of = parse_day(request.GET.get("as_of"), balance_latest_day(tenant=self.tenant) or today)
        repositories = list(Repository.objects.filter(tenant=self.tenant).order_by("-is_default", "name"))
        repository = None
        repo_id = request.GET.get("repository", "")
        if repo_id.isdigit():
            repository = next((r for r in repositories if r.pk == int(repo_id) and not r.is_default), None)
        filters = {k: request.GET.get(k, "").strip() for k in ("publisher", "product", "license_model", "status")}
        rows = rows_filtered(balance_rows(tenant=self.tenant, as_of=as_of, repository=repository), **filters)
        rows.sort(key=SORTS.get(request.GET.get("sort", ""), SORTS["publisher"]))
        fmt = request.GET.get("export")
        if fmt:
            return self.export(rows, fmt, as_of, repository)
        columns = [c for c in request.GET.getlist("cols") if c in dict(COLUMNS)] or DEFAULT_COLUMNS
        totals = {"required": sum(r.required for r in rows), "covered": sum(r.covered for r in rows),
                  "shortfall": sum(r.shortfall for r in rows),
                  "shortfall_cost": sum((r.shortfall_cost or 0) for r in rows),
                  "positions": len(rows), "short": sum(1 for r in rows if r.shortfall > 0)}
        query = request.GET.copy()
        query.pop("export", None)
        ctx = {"rows": rows, "as_of": as_of, "days": balance_days(tenant=self.tenant)[:60],
               "repositories": repositories, "repository": repository, "filters": filters,
               "columns": [{"name": n, "label": lbl, "visible": n in columns} for n, lbl in COLUMNS],
               "visible": columns, "totals": totals, "export_formats": list(FORMATS), "query": query.urlencode(),
               "sort": request.GET.get("sort", "")}
        template = ("requirements_engine/balance/list.html#table" if request.htmx and not request.htmx.boosted
                    else "requirements_engine/balance/list.html")
        response = self.render(template, ctx)
        response["Vary"] = "HX-Request"
        return response

    def post(self, request):
        """Recompute now (for the as-of day shown)."""
        from requirements_engine.services import recompute_request

        as_of = parse_day(request.POST.get("as_of"), dt.date.today())
        job = recompute_request(tenant=self.tenant, as_of=as_of, reason="balance page: recompute", actor=request.user)
        messages.info(request, _("Recompute requested (job #%(id)s).") % {"id": job.pk})
        return HttpResponseRedirect(self.tenant_url("requirements:balance") + f"?as_of={as_of.isoformat()}")

    def export(self, rows, fmt: str, as_of: dt.date, repository) -> HttpResponse:
        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
        suffix = f"-whatif-{repository.pk}" if repository else ""
        filename = f"{self.tenant.slug}-balance-{as_of.isoformat()}{suffix}.{fmt}"
        data = balance_export_rows(rows)
        if fmt == "xlsx":
            response = HttpResponse(xlsx_bytes(BALANCE_COLUMNS, data, title="balance",
                                               preamble=[["balance as of", as_of.isoformat()]]),
                                    content_type=FORMATS[fmt])
        else:
            response = StreamingHttpResponse((c.encode("utf-8") for c in iter_delimited(BALANCE_COLUMNS, data, fmt)),
                                             content_type=f"{FORMATS[fmt]}; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class AuditPackView(BalanceBase):
    """The auditor's zip: balance, requirements, entitlements with proof, allocation, exemptions."""

    permission = "export"
    # What the pack holds is shown on pages needing these; a role without them gets a 403 here too.
    also_requires = ("balance.view", "requirements.view", "entitlements.view")

    def get(self, request):
        as_of = parse_day(request.GET.get("as_of"), balance_latest_day(tenant=self.tenant) or dt.date.today())
        fmt = request.GET.get("format", "tsv")
        if fmt not in FORMATS:
            return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
        with scope(tenant=self.tenant):
            payload = audit_pack(tenant=self.tenant, as_of=as_of, fmt=fmt)
        response = HttpResponse(payload, content_type="application/zip")
        response["Content-Disposition"] = (f'attachment; filename="{self.tenant.slug}-audit-pack-'
                                           f'{as_of.isoformat()}.zip"')
        return response


class PositionView(BalanceBase):
    """One position: requirements summary, allocations with the rule ("why"), licenses, unconfirmed demand."""

    permission = "balance.view"
    model = BalanceRow

    def get(self, request, pk: int):
        row = get_object_or_404(BalanceRow.objects.select_related("product__publisher"), pk=pk)
        detail = position_detail(tenant=self.tenant, row=row)
        return self.render("requirements_engine/balance/position.html", {"d": detail, "row": row})


class DashboardView(BalanceBase):
    """Compliance per publisher, the trend over time, top shortfalls and savings."""

    permission = "balance.view"

    def get(self, request):
        as_of = parse_day(request.GET.get("as_of"), balance_latest_day(tenant=self.tenant) or dt.date.today())
        publishers = compliance_by_publisher(tenant=self.tenant, as_of=as_of)
        trend = balance_trend(tenant=self.tenant, until=as_of, days=int(request.GET.get("days", 90) or 90))
        chart = {
            "publishers": [p["publisher"] for p in publishers],
            "required": [float(p["required"]) for p in publishers],
            "covered": [float(p["covered"]) for p in publishers],
            "cost": [float(p["shortfall_cost"]) for p in publishers],
            "days": [t["as_of"].isoformat() for t in trend],
            "trend_required": [float(t["required"] or 0) for t in trend],
            "trend_covered": [float(t["covered"] or 0) for t in trend],
            "trend_shortfall": [float(t["shortfall"] or 0) for t in trend],
        }
        return self.render("requirements_engine/balance/dashboard.html", {
            "as_of": as_of, "publishers": publishers, "chart": chart, "trend": trend,
            "top": top_shortfalls(tenant=self.tenant, as_of=as_of), "savings": savings(tenant=self.tenant, as_of=as_of),
        })


class ReconciliationView(BalanceBase):
    """Reconciliation per publisher (optionally desktop or server software), with the team's checklist."""

    permission = "balance.view"
    post_permission = "reconciliation.change"

    def _publisher(self, value: str):
        from catalog.selectors import publishers_visible

        if not value.isascii() or not value.isdigit():
            return None
        if int(value) > 2**63 - 1:
            raise Http404  # no such id (and no database overflow error)
        # A publisher another tenant introduced is not visible here: the same 404 as a missing one.
        publisher = publishers_visible(tenant=self.tenant).filter(pk=int(value)).first()
        if publisher is None:
            raise Http404
        return publisher

    def get(self, request):
        from catalog.selectors import publishers_visible

        publishers = publishers_visible(tenant=self.tenant)
        publisher = self._publisher(request.GET.get("publisher", ""))
        scope_name = request.GET.get("scope", "all")
        if scope_name not in ReconciliationScope.values:
            scope_name = "all"
        as_of = parse_day(request.GET.get("as_of"), balance_latest_day(tenant=self.tenant) or dt.date.today())
        ctx = {"publishers": publishers, "publisher": publisher, "scope": scope_name, "as_of": as_of,
               "scopes": ReconciliationScope.choices}
        if publisher is not None:
            ctx["r"] = reconciliation(tenant=self.tenant, publisher=publisher, scope=scope_name, as_of=as_of)
        return self.render("requirements_engine/balance/reconciliation.html", ctx)

    def post(self, request):
        from requirements_engine.selectors_balance import CHECKLIST
        from requirements_engine.services_balance import checklist_comment, checklist_set

        publisher = self._publisher(request.POST.get("publisher", ""))
        if publisher is None:
            raise Http404
        scope_name = request.POST.get("scope", "all")
        if scope_name not in ReconciliationScope.values:
            scope_name = "all"
        key = request.POST.get("key", "")
        if key and key not in dict(CHECKLIST):
            raise Http404
        if request.POST.get("action") == "comment":
            try:
                checklist_comment(tenant=self.tenant, actor=request.user, publisher=publisher, scope=scope_name,
                                  key=key, text=request.POST.get("text", ""))
            except ValueError:
                messages.error(request, _("Write a comment first."))
        elif key:
            checklist_set(tenant=self.tenant, actor=request.user, publisher=publisher, scope=scope_name, key=key,
                          done=request.POST.get("done") == "1")
        return HttpResponseRedirect(self.tenant_url("requirements:reconciliation")
                                    + f"?publisher={publisher.pk}&scope={scope_name}")


class ExemptionsView(BalanceBase):
    """Exemptions listed for auditors; license managers add them with a reason and an expiry."""

    permission = "balance.view"
    post_permission = "requirements.change"

    def get(self, request):
        today = dt.date.today()
        items = list(exemptions_list(tenant=self.tenant)[:500])
        for e in items:
            e.active = e.is_active_on(today)
        return self.render("requirements_engine/balance/exemptions.html",
                           {"items": items, "prefill": request.GET.get("requirement", "")})

    def post(self, request):
        from inventory.models import Device, Person
        from requirements_engine.services_balance import exemption_create

        reason = request.POST.get("reason", "").strip()
        expires_on = parse_day(request.POST.get("expires_on"))
        requirement = device = person = None
        if request.POST.get("requirement", "").isdigit():
            requirement = get_object_or_404(Requirement, pk=int(request.POST["requirement"]))
        consumer = request.POST.get("consumer", "").strip()
        if requirement is None and consumer:
            device = Device.objects.filter(name=consumer).first()
            if device is None:
                person = Person.objects.filter(username=consumer).first()
        try:
            exemption_create(tenant=self.tenant, actor=request.user, reason=reason, requirement=requirement,
                             device=device, person=person, expires_on=expires_on)
            messages.success(request, _("Exemption recorded."))
        except ValueError:
            messages.error(request, _("Name a requirement id or a consumer (device name or user name) and a reason."))
        return HttpResponseRedirect(self.tenant_url("requirements:exemptions"))


class ExemptionRevokeView(BalanceBase):
    permission = "requirements.change"
    model = Exemption

    def post(self, request, pk: int):
        from requirements_engine.services_balance import exemption_revoke

        exemption_revoke(exemption=get_object_or_404(Exemption, pk=pk), actor=request.user)
        messages.success(request, _("Exemption revoked."))
        return HttpResponseRedirect(self.tenant_url("requirements:exemptions"))


class ChangesView(BalanceBase):
    """What changed and why between two stored days."""

    permission = "balance.view"

    def get(self, request):
        days = balance_days(tenant=self.tenant)
        day_to = parse_day(request.GET.get("to"), days[0] if days else dt.date.today())
        day_from = parse_day(request.GET.get("from"), days[1] if len(days) > 1 else day_to - dt.timedelta(days=1))
        result = balance_changes(tenant=self.tenant, day_from=day_from, day_to=day_to)
        return self.render("requirements_engine/balance/changes.html",
                           {"day_from": day_from, "day_to": day_to, "days": days[:90], **result})
