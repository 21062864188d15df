"""``{% detail_panels "device" device %}``: the panels other apps registered for a detail page."""
from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from sam.panels import panels_for

register = template.Library()


@register.simple_tag(takes_context=True)
def detail_panels(context, kind: str, obj) -> str:
    view = context.get("view")
    membership = getattr(view, "membership", None)
    tenant = context.get("tenant")
    request = context.get("request")
    parts = []
    for name, data in panels_for(kind, obj=obj, tenant=tenant, membership=membership):
        parts.append(render_to_string(name, {**context.flatten(), **data}, request=request))
    return mark_safe("".join(parts))  # noqa: S308 - rendered templates (autoescaped)
