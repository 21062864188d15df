"""Pages of receiving inspection: the clearing queue, fixes, batches, upload with mapping, collection
rate, settings and API tokens. Views parse and render; the services in ``receiving.services`` act.
"""
from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from catalog.aliases import alias_library_can_edit
from receiving import selectors, services
from receiving.forms import (
    CANONICAL_CHOICES,
    AliasForm,
    BulkForm,
    CostCenterForm,
    EntryForm,
    LineFixForm,
    MappingOptionsForm,
    RejectForm,
    SettingsForm,
    TokenForm,
    UploadForm,
)
from receiving.models import ApiToken, ImportBatch, ImportProfile, LineStatus, PurchaseLine
from receiving.validation import CANONICAL, DOWNGRADABLE, REASONS
from sam.importing import ImportFileError, read_table
from sam.jobs import job_create
from sam.models import Job
from sam.views import TenantView

PAGE_SIZE = 50
EXPORT_FORMATS = ("tsv", "csv", "xlsx")
COUNT_CAP = 10_000
SESSION_UPLOAD = "receiving_upload"


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP lines: the queue's first page costs the same with 100,000 waiting.

    Deeper lines are reached with the filters; ``capped`` tells the template to say "10,000+"."""

    @property
    def count(self) -> int:
        if not hasattr(self, "_capped_count"):
            self._capped_count = self.object_list[: COUNT_CAP + 1].count()
        return min(self._capped_count, COUNT_CAP)

    @property
    def capped(self) -> bool:
        self.count  # noqa: B018 - fills the cache
        return self._capped_count > COUNT_CAP


class ReceivingView(TenantView):
    """A receiving page: adds the permissions the sub-navigation and the buttons need."""

    section = ""

    def render(self, template: str, context: dict | None = None, **kwargs):
        ctx = {"section": self.section, "sku_autocomplete": sku_autocomplete_url(self.tenant.slug), "perm": {
            name.replace(".", "_"): self.can(name)
            for name in ("receiving.upload", "receiving.change", "settings.manage", "api.manage", "audit.view",
                         "export")}}
        ctx.update(context or {})
        return super().render(template, ctx, **kwargs)


def sku_autocomplete_url(slug: str) -> str:
    """The catalog's SKU autocomplete (``?q=``, <option>s for HTMX); this app's own list if it is missing."""
    try:
        return reverse("catalog:autocomplete-skus", kwargs={"tenant": slug})
    except NoReverseMatch:
        return reverse("receiving:sku-suggest", kwargs={"tenant": slug})


def reason_choices() -> list[tuple[str, str]]:
    return [(code, f"{entry[1]} ({code})") for code, entry in REASONS.items()]


class QueueView(ReceivingView):
    """The clearing queue: waiting lines with their reasons, filters, groups and bulk fixes."""

    section = "queue"
    permission = "receiving.view"

    def get(self, request):
        filters = selectors.QueueFilters.from_query(request.GET)
        qs = selectors.queue_lines(tenant=self.tenant, filters=filters, user=request.user)
        fmt = request.GET.get("export")
        if fmt:
            if not self.can("export"):
                raise PermissionDenied
            return export_response(qs.select_related("tenant", "assigned_to"), fmt, f"{self.tenant.slug}-queue")
        page = CappedPaginator(qs.select_related("batch", "assigned_to"), PAGE_SIZE).get_page(request.GET.get("page"))
        can_change = self.can("receiving.change")
        for line in page.object_list:
            line.can_change = can_change
        params = request.GET.copy()
        params.pop("page", None)
        ctx = {
            "page": page, "filters": filters, "query": params.urlencode(),
            "reasons": reason_choices(), "statuses": LineStatus.choices,
            "clerks": selectors.tenant_clerks(tenant=self.tenant), "export_formats": EXPORT_FORMATS,
        }
        if request.htmx and request.htmx.target == "queue-table":
            response = self.render("receiving/partials/queue_table.html", ctx)
        else:
            ctx["batches"] = ImportBatch.objects.order_by("-created_at")[:30]
            response = self.render("receiving/queue.html", ctx)
        response["Vary"] = "HX-Request"
        return response


class QueueSummaryView(ReceivingView):
    """The queue's counters, reasons and unknown part numbers; the page loads them after the list,
    so the list shows at once however many lines wait."""

    permission = "receiving.view"

    def get(self, request):
        filters = selectors.QueueFilters.from_query(request.GET)
        return self.render("receiving/partials/queue_summary.html", {
            "filters": filters,
            "reason_counts": [(c, n, REASONS.get(c, ("", c))[1]) for c, n in
                              selectors.reason_counts(tenant=self.tenant, batch=filters.batch)],
            "sku_groups": selectors.unknown_sku_groups(tenant=self.tenant),
            "rate": selectors.collection_rate(tenant=self.tenant),
            "next": request.GET.get("next", ""),
            "can_edit_library": alias_library_can_edit(user=request.user),
        })


def _row_response(view: TenantView, line: PurchaseLine, *, editing: bool = False, form=None, error: str = ""):
    line.refresh_from_db()
    line.can_change = view.can("receiving.change")
    response = view.render("receiving/partials/line_row.html", {
        "line": line, "editing": editing, "form": form, "error": error,
        "rate": selectors.collection_rate(tenant=view.tenant), "oob": True,
    })
    return response


class LineFixView(ReceivingView):
    """One line's inline editor (HTMX): GET shows it, POST saves the correction and checks the line again."""

    permission = "receiving.view"
    post_permission = "receiving.change"
    model = PurchaseLine

    def get(self, request, pk: int):
        line = get_object_or_404(PurchaseLine, pk=pk)
        if request.GET.get("cancel") or not self.can("receiving.change"):
            return _row_response(self, line)
        form = LineFixForm(initial={k: line.values.get(k, "") for k in LineFixForm.base_fields})
        return _row_response(self, line, editing=True, form=form)

    def post(self, request, pk: int):
        line = get_object_or_404(PurchaseLine, pk=pk)
        form = LineFixForm(request.POST)
        if not form.is_valid():
            return _row_response(self, line, editing=True, form=form)
        try:
            services.line_correct(line=line, actor=request.user, changes=form.cleaned_data)
        except services.NotWaiting as exc:
            return _row_response(self, line, error=str(exc))
        return _row_response(self, line)


class LineRejectView(ReceivingView):
    permission = "receiving.change"
    model = PurchaseLine

    def post(self, request, pk: int):
        line = get_object_or_404(PurchaseLine, pk=pk)
        form = RejectForm(request.POST)
        error = ""
        if form.is_valid():
            try:
                services.line_reject(line=line, actor=request.user, note=form.cleaned_data["note"])
            except ValueError as exc:
                error = str(exc)
        else:
            error = _("Say why the line is rejected.")
        if request.htmx:
            return _row_response(self, line, error=error)
        (messages.error if error else messages.success)(request, error or _("Line rejected."))
        return HttpResponseRedirect(self.tenant_url("receiving:queue"))


def _back(view: TenantView, request) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not target.startswith(f"/t/{view.tenant.slug}/"):
        target = view.tenant_url("receiving:queue")
    return HttpResponseRedirect(target)


class AliasMapView(ReceivingView):
    """Bulk fix: this unknown part number means catalog SKU X (a tenant alias); waiting lines clear."""

    permission = "receiving.change"

    def post(self, request):
        form = AliasForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give the part number and the catalog SKU."))
            return _back(self, request)
        try:
            result = services.sku_alias_map(tenant=self.tenant, actor=request.user, **form.cleaned_data)
        except (ValueError, PermissionDenied) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(a)s now means %(s)s: %(t)d of %(n)d waiting lines transferred.")
                             % {"a": form.cleaned_data["alias"], "s": form.cleaned_data["part_number"],
                                "t": result.transferred, "n": result.read})
        return _back(self, request)


class BulkCostCenterView(ReceivingView):
    permission = "receiving.change"

    def post(self, request):
        form = CostCenterForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Select lines and give a cost center."))
            return _back(self, request)
        result = services.lines_set_cost_center(tenant=self.tenant, actor=request.user,
                                                line_ids=form.cleaned_data["selected"],
                                                cost_center=form.cleaned_data["cost_center"])
        messages.success(request, _("Cost center set on %(n)d lines; %(t)d transferred.")
                         % {"n": result.read, "t": result.transferred})
        return _back(self, request)


class BulkView(ReceivingView):
    """Bulk actions on ticked lines or on all lines matching the filters: reject, check again, set contract
    or cost center, assign or release (``services.lines_bulk``, the same path as the workspace's)."""

    permission = "receiving.change"

    def post(self, request):
        form = BulkForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for e in form.errors.get("__all__", [])) or _("Choose an action."))
            return _back(self, request)
        data = form.cleaned_data
        if data["all_matching"]:
            filters = selectors.QueueFilters.from_query(QueryDict(data["query"] or ""))
            ids = list(selectors.queue_lines(tenant=self.tenant, filters=filters, user=request.user)
                       .values_list("id", flat=True))
        else:
            ids = data["selected"]
        assignee = None
        if data["action"] == "assign":
            assignee = next((u for u in selectors.tenant_clerks(tenant=self.tenant)
                             if u.username == data["assignee"]), None)
            if assignee is None:
                messages.error(request, _("%(u)s does not clear this tenant's lines.") % {"u": data["assignee"]})
                return _back(self, request)
        try:
            done = services.lines_bulk(tenant=self.tenant, actor=request.user, action=data["action"], line_ids=ids,
                                       value=data["value"], assignee=assignee)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("%(action)s: %(n)d lines; %(t)d transferred.")
                             % {"action": dict(form.fields["action"].choices)[data["action"]], "n": done["lines"],
                                "t": done["transferred"]})
        return _back(self, request)


class EntryView(ReceivingView):
    """Manual entry: a purchase that never passed through procurement goes through the same inspection."""

    section = "entry"
    permission = "receiving.change"

    def get(self, request):
        return self.render("receiving/entry.html", {"form": EntryForm()})

    def post(self, request):
        form = EntryForm(request.POST)
        if not form.is_valid():
            return self.render("receiving/entry.html", {"form": form})
        try:
            result = services.line_enter(tenant=self.tenant, actor=request.user, values=form.cleaned_data)
        except ValueError as exc:
            form.add_error(None, str(exc))
            return self.render("receiving/entry.html", {"form": form})
        if result.skipped:
            messages.warning(request, _("This purchase was entered or received before; nothing new was added."))
        elif result.transferred:
            messages.success(request, _("The purchase passed inspection and was transferred to entitlements."))
        else:
            messages.warning(request, _("The purchase waits in the clearing queue: %(r)s")
                             % {"r": ", ".join(sorted(result.reasons))})
        return HttpResponseRedirect(self.tenant_url("receiving:entry"))


class RevalidateView(ReceivingView):
    """Check every waiting line again (after catalog, person, cost center or contract changes)."""

    permission = "receiving.change"

    def post(self, request):
        result = services.receiving_revalidate(tenant=self.tenant, actor=request.user)
        messages.success(request, _("%(n)d waiting lines checked again; %(t)d transferred.")
                         % {"n": result.read, "t": result.transferred})
        return _back(self, request)


class SkuSuggestView(ReceivingView):
    """Catalog SKUs for the autocomplete of the fix forms (a <datalist>'s options)."""

    permission = "receiving.view"

    def get(self, request):
        from catalog.selectors import skus_search

        q = (request.GET.get("q") or request.GET.get("sku") or request.GET.get("part_number") or "").strip()
        skus = skus_search(tenant=self.tenant, q=q, limit=15) if len(q) >= 2 else []
        return self.render("receiving/partials/sku_options.html", {"skus": skus})


# ---------------------------------------------------------------------------------------------
# Batches


class BatchListView(ReceivingView):
    section = "batches"
    permission = "receiving.view"

    def get(self, request):
        return self.render("receiving/batches.html", {"rows": selectors.batch_rates(tenant=self.tenant, limit=100)})


class BatchUndoView(ReceivingView):
    permission = "receiving.change"
    model = ImportBatch

    def post(self, request, pk: int):
        batch = get_object_or_404(ImportBatch, pk=pk)
        try:
            withdrawn = services.batch_undo(batch=batch, actor=request.user)
        except services.UndoBlocked as exc:
            messages.error(request, _("Batch %(id)s cannot be undone: %(why)s") % {"id": batch.pk, "why": " ".join(exc.blockers)})
        else:
            messages.success(request, _("Batch %(id)s undone; %(n)d entitlements withdrawn.") % {"id": batch.pk, "n": withdrawn})
        return HttpResponseRedirect(self.tenant_url("receiving:batches"))


class BatchFileView(ReceivingView):
    """The original file of a batch, as received (evidence)."""

    permission = "receiving.view"
    model = ImportBatch

    def get(self, request, pk: int):
        batch = get_object_or_404(ImportBatch, pk=pk)
        if batch.file:
            return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.filename or f"batch-{pk}")
        # Pushed through the API: the lines as received are the evidence.
        from receiving.exporters import export_receiving
        from sam.exports import render

        data = export_receiving(tenant=self.tenant, as_of=None, params={"batch": batch.pk})
        response = HttpResponse(render(data.header, data.rows, "tsv"), content_type="text/tab-separated-values")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}.tsv"'
        return response


# ---------------------------------------------------------------------------------------------
# Upload: file -> mapping and preview -> job with progress


class UploadView(ReceivingView):
    section = "upload"
    permission = "receiving.upload"

    def get(self, request):
        profiles = ImportProfile.objects.all()
        return self.render("receiving/upload.html", {"form": UploadForm(profiles=profiles),
                                                     "limit_mb": services.max_file_bytes() / 1048576})

    def post(self, request):
        profiles = ImportProfile.objects.all()
        form = UploadForm(request.POST, request.FILES, profiles=profiles)
        if not form.is_valid():
            return self.render("receiving/upload.html", {"form": form, "limit_mb": services.max_file_bytes() / 1048576})
        upload = form.cleaned_data["file"]
        key = ""
        try:
            # The size first; then the file is streamed to storage in chunks and only its first rows
            # are parsed here (the job parses the whole file).
            services.check_file_size(upload.size)
            key = default_storage.save(f"receiving/pending/{self.tenant.pk}/{uuid.uuid4().hex}", upload)
            table = read_table(Path(default_storage.path(key)), kind="procurement", filename=upload.name,
                               max_rows=1)
            if not table.rows:
                raise ImportFileError(_("The file has a header row but no purchase lines."))
        except ImportFileError as exc:
            if key:
                default_storage.delete(key)
            form.add_error("file", str(exc))
            return self.render("receiving/upload.html", {"form": form, "limit_mb": services.max_file_bytes() / 1048576})
        request.session[SESSION_UPLOAD] = {"key": key, "filename": upload.name[:300], "tenant": self.tenant.pk,
                                           "profile": form.cleaned_data.get("profile") or ""}
        return HttpResponseRedirect(self.tenant_url("receiving:upload-map"))


class UploadMapView(ReceivingView):
    """Map the file's columns (detected, adjustable), preview the first lines, then import."""

    section = "upload"
    permission = "receiving.upload"
    preview_rows = 10

    def _pending(self, request):
        pending = request.session.get(SESSION_UPLOAD)
        if not pending or pending.get("tenant") != self.tenant.pk or not default_storage.exists(pending["key"]):
            return None, None
        # The page shows the first lines only: the preview never parses the whole file.
        return pending, Path(default_storage.path(pending["key"]))

    def _context(self, pending, data, post=None):
        from receiving.importers import header_mapping, table_rows

        table = read_table(data, kind="procurement", filename=pending["filename"], max_rows=self.preview_rows)
        profile = ImportProfile.objects.filter(pk=pending.get("profile") or 0).first()
        if post is not None:
            chosen = {i: post.get(f"col-{i}", "") for i in range(len(table.header))}
            index_map = {i: c for i, c in chosen.items() if c in CANONICAL}
            options = MappingOptionsForm(post)
        else:
            index_map = header_mapping(table.header, profile.mapping if profile else None)
            options = MappingOptionsForm(initial={
                "date_format": profile.date_format if profile else "",
                "decimal_separator": profile.decimal_separator if profile else ".",
                "default_currency": profile.default_currency if profile else "",
                "profile_name": profile.name if profile else ""})
        columns = [{"index": i, "header": h or f"#{i + 1}", "canonical": index_map.get(i, ""),
                    "samples": [r[i] for r in table.rows[:3] if i < len(r)]} for i, h in enumerate(table.header)]
        preview = table_rows(table, index_map)[: self.preview_rows]
        mapped = sorted(set(index_map.values()), key=CANONICAL.index)
        missing = [c for c in ("sku", "quantity") if c not in mapped]
        return {"pending": pending, "columns": columns, "choices": CANONICAL_CHOICES, "options": options,
                "preview": [(n, [v.get(c, "") for c in mapped]) for n, v in preview], "mapped": mapped,
                "missing": missing, "total": len(table.rows), "more": len(table.rows) > self.preview_rows, "table": table, "index_map": index_map,
                "profile": profile}

    def get(self, request):
        pending, data = self._pending(request)
        if pending is None:
            messages.error(request, _("Upload a file first."))
            return HttpResponseRedirect(self.tenant_url("receiving:upload"))
        try:
            ctx = self._context(pending, data)
        except ImportFileError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(self.tenant_url("receiving:upload"))
        return self.render("receiving/upload_map.html", ctx)

    def post(self, request):
        pending, data = self._pending(request)
        if pending is None:
            messages.error(request, _("Upload a file first."))
            return HttpResponseRedirect(self.tenant_url("receiving:upload"))
        ctx = self._context(pending, data, post=request.POST)
        if request.POST.get("action") != "import":
            template = "receiving/partials/preview.html" if request.htmx else "receiving/upload_map.html"
            return self.render(template, ctx)
        options_form = ctx["options"]
        if ctx["missing"] or not options_form.is_valid():
            if ctx["missing"]:
                messages.error(request, _("Map a column to %(c)s first.") % {"c": ", ".join(ctx["missing"])})
            return self.render("receiving/upload_map.html", ctx)
        opts = options_form.cleaned_data
        mapping = {col["header"]: col["canonical"] for col in ctx["columns"]}
        profile = ctx["profile"]
        if opts.get("profile_name"):
            try:
                profile = services.import_profile_save(
                    tenant=self.tenant, actor=request.user, name=opts["profile_name"], mapping=mapping,
                    date_format=opts.get("date_format", ""), decimal_separator=opts["decimal_separator"],
                    default_currency=opts.get("default_currency", ""))
            except ValueError as exc:
                messages.error(request, str(exc))
                return self.render("receiving/upload_map.html", ctx)
        job = job_create(tenant=self.tenant, kind="receiving.import", user=request.user,
                         message=_("Receiving %(f)s") % {"f": pending["filename"]},
                         params={"key": pending["key"], "filename": pending["filename"], "mapping": mapping,
                                 "profile": profile.pk if profile else None,
                                 "options": {"date_format": opts.get("date_format", ""),
                                             "decimal_separator": opts["decimal_separator"],
                                             "default_currency": (opts.get("default_currency") or "").upper()}})
        request.session.pop(SESSION_UPLOAD, None)
        from receiving.tasks import receiving_import_task, run_import_job

        if settings.CELERY_TASK_ALWAYS_EAGER:
            run_import_job(job_id=job.pk, user_id=request.user.pk)
        else:
            tenant_id, user_id = self.tenant.pk, request.user.pk
            transaction.on_commit(lambda: receiving_import_task.delay(tenant_id, job.pk, user_id))
        return HttpResponseRedirect(self.tenant_url("receiving:upload-job", pk=job.pk))


class UploadJobView(ReceivingView):
    """The import's progress, then its outcome with links into the queue."""

    section = "upload"
    permission = "receiving.upload"
    model = Job

    def get(self, request, pk: int):
        job = get_object_or_404(Job, pk=pk)
        return self.render("receiving/upload_job.html", {"job": job})


# ---------------------------------------------------------------------------------------------
# Collection rate, settings, tokens


class RateView(ReceivingView):
    """The collection rate dashboard: per tenant and batch, ageing and the trend."""

    section = "rate"
    permission = "receiving.view"

    def get(self, request):
        batch = request.GET.get("batch")
        batch_id = int(batch) if batch and batch.isdigit() else None
        rate = selectors.collection_rate(tenant=self.tenant, batch=batch_id)
        trend = selectors.trend(tenant=self.tenant)
        return self.render("receiving/rate.html", {
            "rate": rate, "batch_id": batch_id,
            "reason_counts": [(c, n, REASONS.get(c, ("", c))[1]) for c, n in
                              selectors.reason_counts(tenant=self.tenant, batch=batch_id)],
            "ageing": selectors.ageing(tenant=self.tenant), "batches": selectors.batch_rates(tenant=self.tenant),
            "trend": trend,
        })


class SettingsView(ReceivingView):
    section = "settings"
    permission = "settings.manage"

    def get(self, request):
        s = self.tenant.settings or {}
        form = SettingsForm(initial={"warnings": s.get("receiving_warnings", []),
                                     "require_contract": s.get("receiving_require_contract", False),
                                     "as_draft": s.get("receiving_transfer_as_draft", False),
                                     "default_currency": s.get("receiving_default_currency", ""),
                                     "require_cost_center": s.get("receiving_require_cost_center", False),
                                     "clear_within_days": s.get("receiving_clear_within_days")})
        return self.render("receiving/settings.html", {"form": form, "reasons": REASONS, "downgradable": DOWNGRADABLE,
                                                       "profiles": ImportProfile.objects.all()})

    def post(self, request):
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                services.receiving_settings_update(tenant=self.tenant, actor=request.user,
                                                   warnings=form.cleaned_data["warnings"],
                                                   require_contract=form.cleaned_data["require_contract"],
                                                   as_draft=form.cleaned_data["as_draft"],
                                                   default_currency=form.cleaned_data["default_currency"],
                                                   require_cost_center=form.cleaned_data["require_cost_center"],
                                                   clear_within_days=form.cleaned_data["clear_within_days"])
            except ValueError as exc:
                form.add_error("default_currency", str(exc))
            else:
                messages.success(request, _("Settings saved; waiting lines were checked again with them."))
                return HttpResponseRedirect(self.tenant_url("receiving:settings"))
        return self.render("receiving/settings.html", {"form": form, "reasons": REASONS, "downgradable": DOWNGRADABLE,
                                                       "profiles": ImportProfile.objects.all()})


class TokensView(ReceivingView):
    section = "tokens"
    permission = "api.manage"

    def _page(self, form, new_token: str = ""):
        try:
            schema = reverse("receiving-api-schema")
        except NoReverseMatch:
            schema = ""
        return self.render("receiving/tokens.html", {
            "tokens": ApiToken.objects.select_related("created_by"), "form": form, "new_token": new_token,
            "endpoint": request_url(self.request, f"/api/t/{self.tenant.slug}/receiving/lines/"), "schema": schema})

    def get(self, request):
        return self._page(TokenForm())

    def post(self, request):
        form = TokenForm(request.POST)
        if not form.is_valid():
            return self._page(form)
        _token, raw = services.api_token_create(tenant=self.tenant, actor=request.user, name=form.cleaned_data["name"])
        return self._page(TokenForm(), new_token=raw)


class TokenRevokeView(ReceivingView):
    permission = "api.manage"
    model = ApiToken

    def post(self, request, pk: int):
        token = get_object_or_404(ApiToken, pk=pk)
        services.api_token_revoke(token=token, actor=request.user)
        messages.success(request, _("Token %(t)s revoked.") % {"t": token})
        return HttpResponseRedirect(self.tenant_url("receiving:tokens"))


def request_url(request, path: str) -> str:
    return request.build_absolute_uri(path)



def export_response(qs, fmt: str, name: str) -> HttpResponse:
    """The queue's filtered lines as TSV, CSV or XLSX (``receiving.exporters.queue_rows``).

    TSV and CSV stream; the rows are read while the response is built, inside the caller's scope.
    """
    from receiving.exporters import QUEUE_HEADER, queue_rows
    from sam.exports import FORMATS, iter_delimited, xlsx_bytes

    if fmt not in FORMATS:
        return HttpResponse(f"Unknown format {fmt!r}", status=400, content_type="text/plain")
    if fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(QUEUE_HEADER, queue_rows(qs), title="queue"), content_type=FORMATS[fmt])
    else:
        # Rendered now (not lazily): the scope the caller entered ends with the view.
        body = [chunk.encode("utf-8") for chunk in iter_delimited(QUEUE_HEADER, queue_rows(qs), fmt)]
        response = StreamingHttpResponse(iter(body), content_type=f"{FORMATS[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
