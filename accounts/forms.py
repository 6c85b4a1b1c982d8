from crispy_forms.helper import FormHelper
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.services import WeeklyPeriod


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.fields["username"].widget.attrs.update({"autofocus": True, "autocomplete": "username"})


class LocationSwitchForm(forms.Form):
    location = forms.IntegerField(label=_("Location"))


# ---- weekly hours: a location's opening hours, a staff member's working hours ---------------


class HourMinuteField(forms.TimeField):
    """A 24-hour time typed as text, "09:00" (also "9", "0900", "9.30"): a browser's time
    input shows AM/PM in some locales, and the salon's clock is 24-hour in both languages."""

    input_formats = ["%H:%M", "%H.%M", "%H", "%H%M"]  # "10" is 10:00, "930" 09:30

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.TimeInput(
                format="%H:%M",
                attrs={
                    "class": "form-control form-control-sm hour-input",
                    "inputmode": "numeric",
                    "autocomplete": "off",
                    "maxlength": "5",
                    "placeholder": "--:--",
                },
            ),
        )
        super().__init__(**kwargs)


class PeriodForm(forms.Form):
    """One period of a day; both times empty means no period."""

    start = HourMinuteField(label=_("From"), required=False)
    end = HourMinuteField(label=_("Until"), required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", _("Ends before it starts."))
        elif start and not end and "end" not in self.errors:
            self.add_error("end", _("Until when?"))
        elif end and not start and "start" not in self.errors:
            self.add_error("start", _("From when?"))
        return data

    def period(self) -> tuple | None:
        data = getattr(self, "cleaned_data", {})
        if data.get("start") and data.get("end"):
            return data["start"], data["end"]
        return None


class BasePeriodFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        periods = sorted(p for p in (f.period() for f in self.forms) if p)
        for (a_start, a_end), (b_start, b_end) in zip(periods, periods[1:], strict=False):
            if b_start < a_end:
                raise forms.ValidationError(
                    _("%(a)s and %(b)s overlap.")
                    % {"a": f"{a_start:%H:%M}–{a_end:%H:%M}", "b": f"{b_start:%H:%M}–{b_end:%H:%M}"}
                )


WEEKDAYS = (
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
)
PERIOD_SLOTS = 2  # periods shown per day (at least): a lunch break needs two
MAX_PERIODS = 6


def week_rows(periods) -> list[dict]:
    """Periods (anything with weekday, start, end) grouped by day, Monday first, for display."""
    days = [{"weekday": n, "name": name, "periods": []} for n, name in enumerate(WEEKDAYS)]
    for p in sorted(periods, key=lambda p: (p.weekday, p.start)):
        days[p.weekday]["periods"].append(p)
    return days


def opening_periods(hours) -> list[WeeklyPeriod]:
    """OpeningHours rows as periods (their times are called opens and closes)."""
    return [WeeklyPeriod(weekday=h.weekday, start=h.opens, end=h.closes) for h in hours]


class WeekForm:
    """Seven period formsets, one per weekday (prefixes d0 … d6), for a weekly grid editor.
    `initial` is a list of WeeklyPeriod; each day shows its periods and at least PERIOD_SLOTS
    rows. Errors of a day are the formset's; `add_error` takes a service's ValidationError."""

    def __init__(self, data=None, *, initial=()):
        self.is_bound = data is not None
        by_day = week_rows(initial)
        self.non_field_errors: list[str] = []
        self.days = []
        for day in by_day:
            rows = [{"start": p.start, "end": p.end} for p in day["periods"]]
            formset_class = forms.formset_factory(
                PeriodForm,
                formset=BasePeriodFormSet,
                extra=max(PERIOD_SLOTS - len(rows), 1),
                max_num=MAX_PERIODS,
                validate_max=True,
                absolute_max=MAX_PERIODS + 4,
            )
            # Initial values only to show: a bound row equal to its initial value would count as
            # "unchanged" and be skipped, dropping that period.
            formset = formset_class(
                data, initial=None if self.is_bound else rows, prefix=f"d{day['weekday']}"
            )
            previous = WEEKDAYS[day["weekday"] - 1] if day["weekday"] else None
            self.days.append(
                {
                    "weekday": day["weekday"],
                    "name": day["name"],
                    "previous_name": previous,
                    "formset": formset,
                }
            )

    def is_valid(self) -> bool:
        valid = all(d["formset"].is_valid() for d in self.days)
        return valid and not self.non_field_errors

    def periods(self) -> list[WeeklyPeriod]:
        return [
            WeeklyPeriod(weekday=d["weekday"], start=p[0], end=p[1])
            for d in self.days
            for p in (f.period() for f in d["formset"].forms)
            if p
        ]

    def add_error(self, exc) -> None:
        if isinstance(exc, ValidationError):
            self.non_field_errors.extend(exc.messages)
        else:
            self.non_field_errors.append(str(exc))

    @property
    def has_errors(self) -> bool:
        return bool(self.non_field_errors) or any(
            d["formset"].total_error_count() for d in self.days if self.is_bound
        )
