"""Input shapes for client pages. No business rules here: the services validate and decide.
Text hygiene (salon_crm.forms.TextHygieneMixin): no control characters anywhere, and one line
in every field that is not a textarea."""

from decimal import Decimal

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row
from django import forms
from django.forms import fields_for_model
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffMember
from customers.models import ConsentChannel, Customer, PatchTest, Tag
from customers.privacy import format_phone
from customers.services import EDITABLE_FIELDS, HEALTH_CARD_FIELDS, HEALTH_FIELDS
from salon_crm.forms import TextHygieneMixin
from salon_crm.validators import validate_date_of_birth

# The card's form: the services' editable profile fields, plus the tags.
PROFILE_FORM_FIELDS = [*EDITABLE_FIELDS, "tags"]


class _Crispy(TextHygieneMixin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        for field in self.fields.values():
            field.label = capfirst(field.label)  # model verbose names are lower case


def _textarea(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class CustomerForm(_Crispy, forms.Form):
    """The client profile. Built from the model's fields (labels, choices), but a plain Form:
    phone normalisation and the duplicate check are the service's (customer_create/update)."""

    def __init__(self, *args, with_health: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = fields_for_model(
            Customer,
            fields=PROFILE_FORM_FIELDS,
            widgets={
                "birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                "tags": forms.CheckboxSelectMultiple,
                "allergies": _textarea(),
                "contraindications": _textarea(),
                "medical_notes": _textarea(),
                "preferences": _textarea(),
                "notes": _textarea(3),
            },
        )
        for name in PROFILE_FORM_FIELDS:
            if name in HEALTH_FIELDS and not with_health:
                continue
            self.fields[name] = model_fields[name]
        self.fields["name"].label = _("Name")
        # Checked here as well as by the model (the service's full_clean): at once, on the field.
        self.fields["birthday"].validators.append(validate_date_of_birth)
        self.fields["birthday"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.fields["phone"] = forms.CharField(
            label=_("Mobile phone"),
            required=False,
            help_text=_("Mobile, e.g. 138 0013 8000 or +44 7911 123456"),
        )
        self.fields["tags"].queryset = Tag.objects.order_by("name")
        health = [Row(*[Column(f) for f in HEALTH_FIELDS])] if with_health else []
        self.helper.layout = Layout(
            Row(Column("name"), Column("phone")),
            Row(Column("email"), Column("gender"), Column("birthday"), Column("language")),
            Row(Column("source"), Column("preferred_staff"), Column("home_location")),
            InlineCheckboxes("tags"),
            Row(Column("skin_type"), Column("skin_notes")),
            Row(Column("hair_type"), Column("hair_notes")),
            *health,
            Row(Column("preferences"), Column("notes")),
        )
        self.fields["preferred_staff"].queryset = StaffMember.objects.filter(
            is_bookable=True, is_active=True
        ).order_by("display_name")

    @staticmethod
    def initial_for(customer: Customer) -> dict:
        data = {f: getattr(customer, f) for f in EDITABLE_FIELDS if f != "phone"}
        data["phone"] = format_phone(customer.phone)
        data["tags"] = list(customer.tags.all())
        return data


class HealthForm(_Crispy, forms.Form):
    """Hair, skin and health: what a stylist may write for their own clients."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(
            fields_for_model(
                Customer,
                fields=list(HEALTH_CARD_FIELDS),
                widgets={f: _textarea() for f in HEALTH_FIELDS},
            )
        )


class QuickAddForm(_Crispy, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(label=_("Mobile phone"), max_length=32)


class FormulaForm(_Crispy, forms.Form):
    stylist = forms.ModelChoiceField(label=_("stylist"), queryset=StaffMember.objects.none())
    brand = forms.CharField(label=_("brand"), max_length=60)
    line = forms.CharField(label=_("line"), max_length=60, required=False)
    developer = forms.CharField(label=_("developer strength"), max_length=30, required=False)
    mix_ratio = forms.CharField(label=_("mix ratio"), max_length=20, required=False)
    zones = forms.CharField(label=_("zones"), max_length=120, required=False)
    processing_minutes = forms.IntegerField(
        label=_("processing minutes"), min_value=0, max_value=600, required=False
    )
    result_notes = forms.CharField(label=_("result notes"), required=False, widget=_textarea())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stylist"].queryset = StaffMember.objects.filter(is_active=True).order_by("display_name")
        # Dense on a tablet: one screen for the formula, the shades below it.
        self.helper.layout = Layout(
            Row(Column("stylist"), Column("brand"), Column("line")),
            Row(Column("developer"), Column("mix_ratio"), Column("zones"), Column("processing_minutes")),
            "result_notes",
        )


class ShadeForm(TextHygieneMixin, forms.Form):
    shade = forms.CharField(
        label=_("shade"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "7/1"}),
    )
    grams = forms.DecimalField(
        label=_("grams"),
        max_digits=6,
        decimal_places=1,
        min_value=Decimal("0.1"),
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.1", "placeholder": "30"}),
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("shade")) != (data.get("grams") is not None):
            raise forms.ValidationError(_("Give both the shade and its grams."))
        return data


ShadeFormSet = forms.formset_factory(ShadeForm, extra=3, max_num=8)


class PatchTestForm(_Crispy, forms.Form):
    product = forms.CharField(label=_("product"), max_length=100)
    tested_on = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    result = forms.ChoiceField(label=_("result"), choices=PatchTest.Result.choices)
    valid_until = forms.DateField(
        label=_("valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for six months after the test."),
    )
    notes = forms.CharField(label=_("notes"), max_length=200, required=False)


class PatchTestResultForm(forms.Form):
    result = forms.ChoiceField(choices=[(PatchTest.Result.PASSED, ""), (PatchTest.Result.FAILED, "")])


class ConsentForm(_Crispy, forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=ConsentChannel.choices)
    granted = forms.TypedChoiceField(
        label=_("decision"),
        choices=[("true", _("Agrees to receive marketing")), ("false", _("Withdraws / refuses"))],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    method = forms.CharField(
        label=_("how"), max_length=32, initial=_("front desk"), help_text=_("front desk, phone call, form...")
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class EraseForm(_Crispy, forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand: the client's personal data is removed for good and cannot be restored.")
    )
