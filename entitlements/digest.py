"""The daily renewal digest: what ends in 30, 60 and 90 days, mailed to the tenant's license managers."""
from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from entitlements.selectors import renewals_due
from sam.audit import audit_record
from sam.models import Membership, Role, Tenant

WINDOWS = (30, 60, 90)


def renewal_digest_text(*, tenant: Tenant, as_of: dt.date) -> tuple[str, int]:
    """The digest as plain text and the number of entitlements in it (grouped by 30/60/90 days)."""
    rows = list(renewals_due(tenant=tenant, as_of=as_of, days=max(WINDOWS)))
    lines = [f"Renewal notices for {tenant.name} on {as_of.isoformat()}", ""]
    previous = -1
    for window in WINDOWS:
        bucket = [e for e in rows if previous < (e.end_date - as_of).days <= window]
        previous = window
        lines.append(f"Ending within {window} days: {len(bucket)}")
        for e in bucket:
            product = " ".join(p for p in (e.display_vendor, e.display_title, e.display_version, e.display_edition) if p)
            qty = "unlimited" if e.unlimited else f"{e.quantity}"
            agreement = f", agreement {e.contract.number}" if e.contract_id else ""
            lines.append(f"  #{e.pk} {e.get_type_display()} {product} × {qty}, ends {e.end_date.isoformat()}{agreement}")
        lines.append("")
    return "\n".join(lines), len(rows)


def renewal_digest_send(*, tenant: Tenant, as_of: dt.date | None = None) -> int:
    """Mail the digest to the tenant's administrators and license managers; returns the entitlements listed.

    Nothing is sent when nothing ends within 90 days. Uses Django's email backend (console in dev).
    """
    as_of = as_of or timezone.localdate()
    text, count = renewal_digest_text(tenant=tenant, as_of=as_of)
    if not count:
        return 0
    recipients = sorted({m.user.email for m in Membership.objects.filter(
        tenant=tenant, role__in=[Role.ADMIN, Role.LICENSE_MANAGER]).select_related("user") if m.user.email})
    if recipients:
        send_mail(subject=f"[SAM] {count} renewals due for {tenant.name}", message=text,
                  from_email=getattr(settings, "DEFAULT_FROM_EMAIL", None), recipient_list=recipients)
    audit_record(tenant=tenant, actor="renewal_digest", action="entitlements.renewal_digest.sent",
                 note=f"{count} entitlements, {len(recipients)} recipients", object_type="entitlements.digest",
                 object_id=as_of.isoformat())
    return count
