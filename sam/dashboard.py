"""What the tenant dashboard shows. Apps add their panels here as they grow."""
from __future__ import annotations

from sam.models import Job, Membership, Tenant


def dashboard_context(*, tenant: Tenant, membership: Membership) -> dict:
    panels: dict = {}
    try:
        from requirements_engine.selectors import dashboard_panels
    except ImportError:
        dashboard_panels = None
    if dashboard_panels is not None:
        panels.update(dashboard_panels(tenant=tenant, membership=membership))
    jobs = list(Job.objects.order_by("-created_at")[:5])
    return {"panels": panels, "recent_jobs": jobs}
