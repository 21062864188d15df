"""The generic import page: choose a KIND, upload, check the column mapping and a preview, run.

One page (``imports``) walks through the steps; the run is a job whose progress partial polls until
the outcome (created / updated / removed / rejected with the row-level reasons) is shown.
"""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _

from sam.importing import ImportFileError, load_kinds
from sam.models import Job
from sam.uploads import IMPORT_JOB, import_job_start, upload_discard, upload_preview, upload_store
from sam.views import TenantView


class ImportView(TenantView):
    permission = "imports.run"
    template_name = "sam/imports.html"

    # --- pages -------------------------------------------------------------------------------
    def get(self, request):
        job = None
        if request.GET.get("job", "").isdigit():
            job = get_object_or_404(Job, pk=int(request.GET["job"]), kind=IMPORT_JOB)
        return self._page(job=job, kind=request.GET.get("kind", ""))

    def post(self, request):
        too_big = _declared_too_big(request)
        if too_big:  # refused before the body is parsed or stored
            return self._page(error=too_big, status=413)
        action = request.POST.get("action", "upload")
        kinds = self._kinds()
        kind_name = request.POST.get("kind", "")
        if kind_name not in kinds:
            return self._page(error=_("Choose what the file contains."), status=400)
        kind = kinds[kind_name]
        token = request.POST.get("token", "")
        try:
            if action == "cancel":
                upload_discard(tenant=self.tenant, token=token)
                return HttpResponseRedirect(self.tenant_url("imports"))
            if action == "upload":
                upload = request.FILES.get("file")
                if upload is None:
                    return self._page(error=_("Choose a file to upload."), kind=kind_name, status=400)
                token = upload_store(tenant=self.tenant, filename=upload.name, chunks=upload.chunks(),
                                     size=upload.size, kind=kind.name)
                mapping = {}
            else:
                mapping = self._manual_mapping(kind, token)
            preview = upload_preview(tenant=self.tenant, token=token, kind=kind, mapping=mapping)
            if action == "run" and not preview["missing"]:
                job = import_job_start(tenant=self.tenant, kind=kind.name, token=token, actor=request.user,
                                       mapping=mapping)
                return HttpResponseRedirect(f"{self.tenant_url('imports')}?job={job.pk}")
        except ImportFileError as exc:
            upload_discard(tenant=self.tenant, token=token)
            return self._page(error=str(exc), kind=kind_name, status=400)
        return self.render("sam/import_preview.html", {
            "kind": kind, "token": token, "preview": preview, "mapping": mapping,
            "canonical_choices": list(kind.columns),
        })

    # --- helpers -----------------------------------------------------------------------------
    def _kinds(self) -> dict:
        kinds = dict(load_kinds())
        if self._receiving_upload_url():
            kinds.pop("procurement", None)  # the receiving app's richer upload page handles it
        return kinds

    def _receiving_upload_url(self) -> str:
        try:
            return reverse("receiving:upload", kwargs={"tenant": self.tenant.slug})
        except NoReverseMatch:
            return ""

    def _manual_mapping(self, kind, token: str) -> dict[str, str]:
        """``map-<column index>`` fields name the canonical column of a header nothing matched."""
        detected = upload_preview(tenant=self.tenant, token=token, kind=kind)
        mapping: dict[str, str] = {}
        for column in detected["columns"]:
            if column["canonical"]:
                continue
            chosen = self.request.POST.get(f"map-{column['index']}", "")
            if chosen in kind.columns and chosen not in mapping.values():
                mapping[column["header"]] = chosen
        return mapping

    def _page(self, *, job: Job | None = None, kind: str = "", error: str = "", status: int = 200):
        if error:
            messages.error(self.request, error)
        recent = Job.objects.filter(kind=IMPORT_JOB).select_related("created_by").order_by("-created_at")[:10]
        kinds = self._kinds()
        return self.render(self.template_name, {
            "kinds": sorted(kinds.values(), key=lambda k: (not k.master, k.name)),
            "selected_kind": kind, "job": job, "recent_jobs": recent,
            "receiving_upload_url": self._receiving_upload_url(),
        }, status=status)


def _declared_too_big(request) -> str:
    """The message for a request whose declared length is above the largest upload, else ""."""
    from django.conf import settings

    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    limit = settings.SAM_MAX_UPLOAD_BYTES
    if length > limit + 1024 * 1024:  # the form fields and multipart framing around the file
        return _("The file is larger than %(mb).0f MB; split it into smaller files.") % {"mb": limit / 1048576}
    return ""


urlpatterns = [
    path("imports/", ImportView.as_view(), name="imports"),
]
