"""Forms of the manager's catalogue pages (shape only; catalogue_save does the rest)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.access import locations_for
from accounts.models import StaffMember
from appointments.models import Product, Resource, Service, ServiceCategory, TimeOff, WorkingHours


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
        widgets = {
            "start": forms.TimeInput(attrs={"type": "time"}),
            "end": forms.TimeInput(attrs={"type": "time"}),
        }
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


class TimeOffForm(forms.ModelForm):
    class Meta:
        model = TimeOff
        fields = ["staff", "start", "end", "reason"]
        widgets = {
            "start": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "end": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = _staff_here(user)
