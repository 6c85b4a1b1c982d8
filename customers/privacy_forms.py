"""Input shape of the owners' privacy settings (accounts.PrivacySettings); the service
(accounts.services.privacy_settings_update) checks who may save and the ranges."""

from django import forms
from django.utils.text import capfirst

from accounts.models import PrivacySettings
from salon_crm.forms import TextHygieneMixin


class PrivacySettingsForm(TextHygieneMixin, forms.ModelForm):
    class Meta:
        model = PrivacySettings
        fields = ["retention_years", "access_alert_threshold"]
        widgets = {
            "retention_years": forms.NumberInput(attrs={"min": 1, "max": 30, "inputmode": "numeric"}),
            "access_alert_threshold": forms.NumberInput(
                attrs={"min": 5, "max": 10000, "inputmode": "numeric"}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.label = capfirst(field.label)
            field.widget.attrs["class"] = "form-control"
