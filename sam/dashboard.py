"""What the tenant dashboard shows: the shell's key figures, the apps' panels, recent jobs.

Apps contribute panels by registering a ``dashboard.panels`` hook (``sam.hooks``) in their
``AppConfig.ready()``: ``f(*, tenant, membership)`` returning
``{"kpis": [{label, value, note, url?}], "blocks": [{template, data}]}``.
"""
from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sam.hooks import hook_run
from sam.models import AuditEvent, Job, JobState, Membership, Tenant


def _url(name: str, tenant: Tenant) -> str:
    try:
        return reverse(name, kwargs={"tenant": tenant.slug})
    except NoReverseMatch:
        return ""


def shell_kpis(*, tenant: Tenant, membership: Membership) -> list[dict]:
    """Background work and recent changes, in two queries."""
    since = timezone.now() - dt.timedelta(days=7)
    jobs = Job.objects.aggregate(
        active=Count("id", filter=Q(state__in=[JobState.QUEUED, JobState.RUNNING])),
        failed=Count("id", filter=Q(state=JobState.FAILED, created_at__gte=since)),
    )
    kpis = [
        {"label": _("Background work"), "value": jobs["active"], "note": _("jobs queued or running")},
        {"label": _("Failed jobs"), "value": jobs["failed"], "note": _("in the last 7 days"),
         "tone": "bad" if jobs["failed"] else ""},
    ]
    if membership.has_perm("audit.view"):
        changes = AuditEvent.objects.filter(at__gte=since).count()
        kpis.append({"label": _("Changes"), "value": changes, "note": _("audited in the last 7 days"),
                     "url": _url("audit", tenant)})
    return kpis


def dashboard_context(*, tenant: Tenant, membership: Membership) -> dict:
    panels: dict = {"kpis": [], "blocks": []}
    for contributed in hook_run("dashboard.panels", tenant=tenant, membership=membership):
        contributed = contributed or {}
        panels["kpis"].extend(contributed.get("kpis", []))
        panels["blocks"].extend(contributed.get("blocks", []))
    panels["kpis"].extend(shell_kpis(tenant=tenant, membership=membership))
    jobs = list(Job.objects.select_related("created_by").order_by("-created_at")[:8])
    return {"panels": panels, "recent_jobs": jobs}
