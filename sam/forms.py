from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.utils.translation import gettext_lazy as _

from sam.models import Role

# What each role may do, shown beside the role choice (the matrix is docs/architecture.md).
ROLE_DESCRIPTIONS = {
    Role.AUDITOR: _("Reads everything (catalog, inventory, entitlements, requirements, balance, audit log) and "
                    "exports it; changes nothing."),
    Role.CLEARING: _("Works the receiving queue: corrects and transfers purchase lines; reads the catalog."),
    Role.LICENSE_MANAGER: _("Maintains entitlements, the tenant's catalog amendments and inventory, confirms "
                            "requirements, runs imports."),
    Role.ADMIN: _("Everything a license manager does, plus members, invitations, settings and API tokens."),
}
# Least privilege first: a new member is an auditor unless the admin chooses more.
ROLE_ORDER = [Role.AUDITOR, Role.CLEARING, Role.LICENSE_MANAGER, Role.ADMIN]


def role_choices() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in ROLE_ORDER]


class RoleSelect(forms.RadioSelect):
    option_template_name = "sam/widgets/role_option.html"

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        option["description"] = ROLE_DESCRIPTIONS.get(option["value"], "")
        return option


def _username_field() -> forms.CharField:
    user_model = get_user_model()
    model_field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    # The model's own validators (characters allowed) and its length: a longer name is refused,
    # never cut.
    return forms.CharField(label=_("User name"), max_length=model_field.max_length,
                           validators=list(model_field.validators), help_text=model_field.help_text,
                           strip=True)


class InvitationForm(forms.Form):
    """Invite a person: a one-time link; whether the user name exists is not revealed here."""

    username = _username_field()
    email = forms.EmailField(label=_("E-mail"), required=False,
                             help_text=_("The link is mailed here when given; it is always shown to you once."))
    role = forms.ChoiceField(label=_("Role"), choices=role_choices, initial=Role.AUDITOR, widget=RoleSelect)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class AcceptNewAccountForm(forms.Form):
    """The invited person chooses their user name and password (Django's password validators apply)."""

    username = _username_field()
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                strip=False, help_text=password_validators_help_text_html())
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first and data.get("username"):
            candidate = get_user_model()(username=data["username"], email=self.email)
            try:
                validate_password(first, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class TenantSettingsForm(forms.Form):
    relevant_statuses = forms.MultipleChoiceField(label=_("Relevant asset statuses"), required=False,
                                                  widget=forms.CheckboxSelectMultiple)
    other_statuses = forms.CharField(
        label=_("Other relevant statuses"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, as your CMDB spells them (compared without regard to case)."))
    require_proof = forms.BooleanField(
        label=_("Proof of purchase required"), required=False,
        help_text=_("An entitlement without invoice, purchase order, licensor number, purchase line or "
                    "attached document is invalid and covers nothing."))

    def __init__(self, *args, status_counts: list[tuple[str, int]] = (), current: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        # One box per status seen on the tenant's devices (with its count) and per status already
        # chosen, compared without regard to case; the value is the spelling first seen.
        choices: dict[str, tuple[str, str]] = {}
        for status, count in status_counts:
            choices.setdefault(status.lower(), (status, f"{status} ({count})"))
        for status in current:
            choices.setdefault(status.lower(), (status, f"{status} (0)"))
        self.fields["relevant_statuses"].choices = sorted(choices.values(), key=lambda c: c[1].lower())
        if not self.is_bound:
            self.initial.setdefault("relevant_statuses", [choices[s.lower()][0] for s in current])

    def statuses(self) -> list[str]:
        chosen = list(self.cleaned_data.get("relevant_statuses") or [])
        chosen += [line for line in (self.cleaned_data.get("other_statuses") or "").splitlines() if line.strip()]
        return chosen

    def clean(self):
        data = super().clean()
        if not self.statuses():
            self.add_error("relevant_statuses", _("Choose at least one status; no device would count otherwise."))
        return data


class TenantCreateForm(forms.Form):
    slug = forms.SlugField(label=_("Slug"), max_length=64, help_text=_("Part of every URL: lowercase letters, "
                                                                       "digits and hyphens."))
    name = forms.CharField(label=_("Name"), max_length=200)
    admin_username = _username_field()
    admin_email = forms.EmailField(label=_("First administrator's e-mail"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["admin_username"].label = _("First administrator's user name")

    def clean_slug(self):
        from sam.models import Tenant

        slug = self.cleaned_data["slug"]
        if slug != slug.lower():
            raise forms.ValidationError(_("Use lowercase letters only."))
        if Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("A tenant with this slug exists already."))
        return slug
