from django import forms
from django.utils.translation import gettext_lazy as _


class ExportForm(forms.Form):
    confirm = forms.BooleanField(
        label=_(
            "I understand: the archive holds every client's personal and health data in plain "
            "text, and I will keep it safe."
        ),
        error_messages={"required": _("Tick the box to confirm that you will keep the archive safe.")},
    )
