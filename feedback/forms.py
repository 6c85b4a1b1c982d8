from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import StaffMember
from appointments.catalogue_forms import IsoDateField
from appointments.forms import StyledForm
from feedback.models import Complaint, FollowUp, Tag
from salon_crm.forms import TextHygieneMixin

SCORE_ERRORS = {"invalid_choice": _("Choose a score from the list.")}


class SurveyForm(TextHygieneMixin, forms.Form):
    """The client's survey: rendered by hand in feedback/survey.html (big tap targets)."""

    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with your visit?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a score from 1 to 5."), **SCORE_ERRORS},
    )
    nps = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"),
        choices=[(n, str(n)) for n in range(0, 11)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        error_messages=SCORE_ERRORS,
    )
    stylist_rating = forms.TypedChoiceField(
        label=_("How would you rate your stylist?"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        error_messages=SCORE_ERRORS,
    )
    tags = forms.MultipleChoiceField(
        label=_("What stood out? (optional)"),
        choices=Tag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control", "maxlength": "2000"}),
    )


class ComplaintForm(StyledForm):
    source = forms.ChoiceField(
        label=_("How it came in"),
        choices=[(k, v) for k, v in Complaint.Source.choices if k in ("phone", "in_person", "other")],
    )
    category = forms.ChoiceField(label=_("Category"), choices=Complaint.Category.choices)
    severity = forms.ChoiceField(label=_("Severity"), choices=Complaint.Severity.choices, initial="medium")
    visit = forms.TypedChoiceField(label=_("Visit"), required=False, coerce=int, empty_value=None)
    staff_involved = forms.ModelMultipleChoiceField(
        label=_("Staff involved"), queryset=StaffMember.objects.none(), required=False
    )
    description = forms.CharField(
        label=_("What happened"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, visits=(), staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visit"].choices = [("", _("— none —")), *visits]
        if staff is not None:
            self.fields["staff_involved"].queryset = staff
        self.fields["staff_involved"].widget.attrs["size"] = "4"


class ComplaintStatusForm(StyledForm):
    status = forms.ChoiceField(label=_("New status"), choices=Complaint.Status.choices)
    resolution = forms.CharField(
        label=_("Resolution"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ComplaintNoteForm(StyledForm):
    note = forms.CharField(label=_("Note"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class ComplaintAssignForm(StyledForm):
    owner = forms.ModelChoiceField(
        label=pgettext_lazy("complaint", "Owner"), queryset=None, to_field_name="pk"
    )
    due_at_day = IsoDateField(label=_("New deadline (day)"), required=False)


class CompensationForm(StyledForm):
    kind = forms.ChoiceField(label=_("Compensation"), choices=Complaint.Compensation.choices)
    value = forms.DecimalField(
        label=_("Value (money for a coupon, a number of points)"),
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=Decimal("1000000"),
    )
    valid_days = forms.IntegerField(
        label=_("Coupon valid for (days)"), min_value=1, max_value=3650, initial=90
    )

    def clean(self):
        data = super().clean()
        value = data.get("value")
        if (
            data.get("kind") == Complaint.Compensation.POINTS
            and value is not None
            and value != value.to_integral_value()
        ):
            self.add_error("value", _("Give a whole number of points."))
        return data


class FollowUpForm(StyledForm):
    due_on = IsoDateField(label=_("Call on"))
    assignee = forms.ModelChoiceField(
        label=_("Who calls"), queryset=StaffMember.objects.none(), required=False
    )
    purpose = forms.CharField(label=_("What to ask"), max_length=200)

    def __init__(self, *args, staff=None, **kwargs):
        super().__init__(*args, **kwargs)
        if staff is not None:
            self.fields["assignee"].queryset = staff


class FollowUpRecordForm(StyledForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[("", _("— choose —")), *FollowUp.Outcome.choices]
    )
    category = forms.ChoiceField(
        label=_("If a problem: category"), choices=Complaint.Category.choices, initial="other", required=False
    )
    note = forms.CharField(
        label=_("Notes (for a problem: what the client said)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
