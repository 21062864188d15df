"""Forms to edit devices and persons by hand (the services keep the edit across imports)."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from inventory.models import CostCenter, Device, Person


class DeviceForm(forms.ModelForm):
    # A user name, not a select: a tenant may have 100,000 persons.
    primary_user_name = forms.CharField(label=_("Primary user (user name)"), required=False, max_length=150)

    class Meta:
        model = Device
        fields = ["kind", "role", "status", "power", "processors", "cores_per_processor", "threads", "vcpus",
                  "processor_model", "ram_gb"]
        widgets = {"power": forms.Select(choices=[("", "—"), ("on", _("on")), ("off", _("off"))])}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.primary_user_id and not self.is_bound:
            self.initial["primary_user_name"] = self.instance.primary_user.username

    def clean_ram_gb(self):
        value = self.cleaned_data.get("ram_gb")
        if value is not None and value < 0:
            raise forms.ValidationError(_("Memory cannot be negative."))
        return value

    def clean_primary_user_name(self):
        name = self.cleaned_data.get("primary_user_name", "").strip()
        if not name:
            return None
        person = Person.objects.filter(username__iexact=name).first()
        if person is None:
            raise forms.ValidationError(_("No person with the user name %(name)s.") % {"name": name})
        return person

    def changes(self) -> dict:
        """The submitted values keyed as the service expects (``primary_user_id``)."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        person = self.cleaned_data.get("primary_user_name")
        data["primary_user_id"] = person.pk if person else None
        return data


class PersonForm(forms.ModelForm):
    cost_center_code = forms.CharField(label=_("Cost center (code)"), required=False, max_length=64)

    class Meta:
        model = Person
        fields = ["name", "email", "status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.cost_center_id and not self.is_bound:
            self.initial["cost_center_code"] = self.instance.cost_center.code

    def clean_cost_center_code(self):
        code = self.cleaned_data.get("cost_center_code", "").strip()
        if not code:
            return None
        center = CostCenter.objects.filter(code__iexact=code).first()
        if center is None:
            raise forms.ValidationError(_("No cost center with the code %(code)s.") % {"code": code})
        return center

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        center = self.cleaned_data.get("cost_center_code")
        data["cost_center_id"] = center.pk if center else None
        return data
