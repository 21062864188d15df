"""Links of the explanation pages: a position by what it is, an audit event to its object."""
from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

register = template.Library()

NO_MODEL = "-"


@register.simple_tag(takes_context=True)
def position_url(context, product_id, license_model: str, as_of=None) -> str:
    """The stable address of a position (product × license model), optionally of one day."""
    url = reverse("requirements:balance-position-of", kwargs={
        "tenant": context["tenant"].slug, "product": product_id, "model": license_model or NO_MODEL})
    return url + (f"?as_of={as_of.isoformat()}" if as_of else "")


#: object_type of an audit event → (url name, kwarg) of the object's page.
OBJECT_PAGES = {
    "entitlements.entitlement": ("entitlements:edit", "pk"),
    "entitlements.contract": ("entitlements:contract", "pk"),
    "inventory.device": ("inventory:device", "pk"),
    "inventory.person": ("inventory:person", "pk"),
    "requirements_engine.requirement": ("requirements:detail", "pk"),
}


@register.simple_tag(takes_context=True)
def audit_object_url(context, event) -> str:
    """The page of the object an audit event is about; else the audit trail filtered to that object."""
    slug = context["tenant"].slug
    page = OBJECT_PAGES.get(event.object_type)
    if page and event.object_id.isdigit():
        try:
            return reverse(page[0], kwargs={"tenant": slug, page[1]: int(event.object_id)})
        except NoReverseMatch:
            pass
    if event.object_type == "requirements_engine.exemption":
        return reverse("requirements:exemptions", kwargs={"tenant": slug})
    return reverse("audit", kwargs={"tenant": slug}) + "?" + urlencode(
        {"object_type": event.object_type, "object_id": event.object_id})


@register.simple_tag(takes_context=True)
def consumer_url(context, device_id=None, person_id=None) -> str:
    slug = context["tenant"].slug
    if device_id:
        return reverse("inventory:device", kwargs={"tenant": slug, "pk": device_id})
    if person_id:
        return reverse("inventory:person", kwargs={"tenant": slug, "pk": person_id})
    return ""


@register.simple_tag(takes_context=True)
def requirement_versions(context, requirement) -> list:
    """The recorded versions of a requirement (consumer × product), newest first (one query)."""
    from requirements_engine.models import RequirementHistory

    return list(RequirementHistory.objects.filter(tenant=context["tenant"], consumer_key=requirement.consumer_key,
                                                  product_id=requirement.product_id)
                .order_by("-valid_from", "-id")[:50])


@register.simple_tag(takes_context=True)
def position_model_of(context, requirement) -> str:
    """The license model of the position a requirement counts in (its own, else the product's default)."""
    if requirement.license_model:
        return requirement.license_model
    from requirements_engine.coverage import catalog_facts

    return catalog_facts(tenant=context["tenant"], product_ids=[requirement.product_id]).default_models.get(
        requirement.product_id, "")
