"""Forms of the manager's catalogue pages (shape only; catalogue_save does the rest)."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.access import locations_for
from accounts.forms import HourMinuteField
from accounts.models import StaffMember
from appointments.models import Product, Resource, Service, ServiceCategory, TimeOff, WorkingHours
from salon_crm.forms import TextHygieneMixin


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "category",
            "name",
            "duration_minutes",
            "buffer_after_minutes",
            "price",
            "resource_type",
            "requires_patch_test",
            "follow_up_days",
            "rebook_interval_days",
            "locations",
            "is_active",
        ]
        widgets = {"locations": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.visible_locations = locations_for(user)
        self.fields["locations"].queryset = self.visible_locations

    def locations_to_set(self) -> list:
        """The chosen locations, keeping those this user cannot see (another manager's)."""
        kept = []
        if self.instance.pk:
            kept = list(self.instance.locations.exclude(pk__in=self.visible_locations.values("pk")))
        return kept + list(self.cleaned_data["locations"])


class CategoryForm(forms.ModelForm):
    class Meta:
        model = ServiceCategory
        fields = ["name", "position"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "sku", "kind", "price", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)


class ResourceForm(forms.ModelForm):
    class Meta:
        model = Resource
        fields = ["location", "name", "type", "is_active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations_for(user)


def _staff_here(user):
    return StaffMember.objects.active().filter(locations__in=locations_for(user)).distinct()


class WorkingHoursForm(forms.ModelForm):
    class Meta:
        model = WorkingHours
        fields = ["staff", "location", "weekday", "start", "end"]
        field_classes = {"start": HourMinuteField, "end": HourMinuteField}
        help_texts = {"start": _("Local time of the location.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = _staff_here(user)
        self.fields["location"].queryset = locations_for(user)

    def clean(self):
        data = super().clean()
        staff, location = data.get("staff"), data.get("location")
        if staff and location and not staff.locations.filter(pk=location.pk).exists():
            self.add_error("location", _("This staff member does not work at this location."))
        return data


class IsoDateTimeField(forms.DateTimeField):
    """2026-12-04 09:00 as text, 24-hour (a datetime-local input shows the browser's format)."""

    input_formats = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.DateTimeInput(
                format="%Y-%m-%d %H:%M", attrs={"autocomplete": "off", "placeholder": "2026-12-04 09:00"}
            ),
        )
        super().__init__(**kwargs)


class TimeOffForm(forms.ModelForm):
    class Meta:
        model = TimeOff
        fields = ["staff", "start", "end", "reason"]
        field_classes = {"start": IsoDateTimeField, "end": IsoDateTimeField}
        help_texts = {"start": _("Local time, e.g. 2026-12-04 09:00.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = _staff_here(user)


class IsoDateField(forms.DateField):
    """A date typed as 2026-12-04 (a browser's date input shows the browser's own format)."""

    input_formats = ["%Y-%m-%d"]

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                format="%Y-%m-%d",
                attrs={
                    "class": "form-control form-control-sm",
                    "inputmode": "numeric",
                    "autocomplete": "off",
                    "maxlength": "10",
                    "placeholder": "yyyy-mm-dd",
                },
            ),
        )
        super().__init__(**kwargs)


class TimeOffAddForm(TextHygieneMixin, forms.Form):
    """Time off in the location's wall clock: whole days when the times are left empty."""

    start_date = IsoDateField(label=_("From"))
    start_time = HourMinuteField(label=_("at (empty: the whole day)"), required=False)
    end_date = IsoDateField(label=_("Until"))
    end_time = HourMinuteField(label=_("at (empty: the whole day)"), required=False)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )

    def __init__(self, *args, tz, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz

    def clean(self):
        data = super().clean()
        first, last = data.get("start_date"), data.get("end_date")
        if first is None or last is None:
            return data
        data["start"] = datetime.combine(first, data.get("start_time") or time(0), tzinfo=self.tz)
        if data.get("end_time"):
            data["end"] = datetime.combine(last, data["end_time"], tzinfo=self.tz)
        else:
            data["end"] = datetime.combine(last + timedelta(days=1), time(0), tzinfo=self.tz)
        if data["end"] <= data["start"]:
            self.add_error("end_date", _("The end must be after the start."))
        return data
