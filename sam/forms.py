from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from sam.models import Role


class MemberAddForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    password = forms.CharField(label=_("Initial password (new users only)"), widget=forms.PasswordInput,
                               required=False, min_length=10)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
