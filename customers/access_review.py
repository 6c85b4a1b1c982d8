"""Reading the access log (owners): the filtered list behind the review page and its CSV, and the
unusual-volume alert - one person opening more different client files in a local day than the
owners' threshold (accounts.PrivacySettings.access_alert_threshold).

What counts as opening a file: a card view (`view_file`), an API read (`api_view`) and a one-
client export (`export_one`). Bulk exports and imports are one row each and are reviewed as
such; the offline day view's copies are the desk's own day list, not files looked up.

Days are local days. The review page's date filters use the time zone of the owner's current
location; alerts use the chain's default zone (settings.TIME_ZONE), so a person has one "day"
whichever owner looks."""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts.models import ACCESS_ALERT_DEFAULT, AccessAlert, PrivacySettings
from customers.models import AccessLog
from customers.search import customer_search_ids
from salon_crm.events import Event, EventBus

User = get_user_model()
FILE_READS = (AccessLog.Action.VIEW_FILE, AccessLog.Action.API_VIEW, AccessLog.Action.EXPORT_ONE)
ALERT_DAYS = 7  # the banner shows the alerts of the last week
CLIENT_MATCHES = 100  # a name search narrows the log to at most this many clients


def alert_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def day_start(day: date, tz) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


# ---- the review page's filters (django-filter) ------------------------------------------------


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        staff = getattr(obj, "staff", None)
        return f"{staff.display_name} ({obj.get_username()})" if staff else obj.get_username()


class StaffFilter(django_filters.ModelChoiceFilter):
    field_class = StaffChoiceField


class IsoDateFilter(django_filters.DateFilter):
    """A date typed as 2026-12-04, read as that local day of the filter's time zone."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            forms.DateInput(
                format="%Y-%m-%d",
                attrs={
                    "inputmode": "numeric",
                    "autocomplete": "off",
                    "maxlength": "10",
                    "placeholder": "yyyy-mm-dd",
                },
            ),
        )
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(*args, **kwargs)


def _staff_users(request=None) -> QuerySet:
    return (
        User.objects.filter(staff__isnull=False).select_related("staff").order_by("staff__display_name", "pk")
    )


class AccessLogFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        for key in ("date_from", "date_to"):
            if data.get(key) and not (date(1900, 1, 1) <= data[key] <= date(2999, 12, 31)):
                self.add_error(key, _("Choose a date between 1900 and 2999."))
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end and "date_to" not in self.errors:
            self.add_error("date_to", _("The end is before the start."))
        return data


class AccessLogFilter(django_filters.FilterSet):
    """Who (a staff member), which client (an id, "#id", or a name as the header search reads
    it), what (the action) and when (local dates, both ends included)."""

    user = StaffFilter(label=_("Staff member"), queryset=_staff_users, empty_label=_("Everyone"))
    client = django_filters.CharFilter(label=_("Client (id or name)"), method="filter_client", max_length=100)
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=AccessLog.Action.choices, empty_label=_("All")
    )
    date_from = IsoDateFilter(label=_("From"), method="filter_from")
    date_to = IsoDateFilter(label=_("Until"), method="filter_to")

    class Meta:
        model = AccessLog
        fields = ["user", "client", "action", "date_from", "date_to"]
        form = AccessLogFilterForm

    def __init__(self, *args, tz=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = tz or timezone.get_current_timezone()
        for field in self.form.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs["class"] = css

    def filter_client(self, queryset, name, value):
        text = value.strip().removeprefix("#").strip()
        if not text:
            return queryset
        if text.isdigit():
            return queryset.filter(customer_id=int(text)) if len(text) < 19 else queryset.none()
        return queryset.filter(customer_id__in=customer_search_ids(q=text, limit=CLIENT_MATCHES))

    def filter_from(self, queryset, name, value):
        return queryset.filter(at__gte=day_start(value, self.tz))

    def filter_to(self, queryset, name, value):
        return queryset.filter(at__lt=day_start(value + timedelta(days=1), self.tz))


def access_log_rows() -> QuerySet[AccessLog]:
    """Every row, newest first, with who and which client in the same statement."""
    return AccessLog.objects.select_related("user__staff", "customer").order_by("-at", "-pk")


# ---- unusual volume -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VolumeRow:
    user_id: int
    name: str
    day: date
    files: int

    @property
    def url(self) -> str:
        """That person's rows of that day on the review page."""
        query = {"user": self.user_id, "date_from": self.day.isoformat(), "date_to": self.day.isoformat()}
        return reverse("customers:access_log") + "?" + urlencode(query)


def _name(username: str, display_name: str | None) -> str:
    return display_name or username or "?"


def threshold_now() -> Coalesce:
    """The owners' threshold as an expression, read inside the aggregate rather than in a query
    of its own; the default before the settings are first saved."""
    saved = PrivacySettings.objects.filter(pk=1).values("access_alert_threshold")[:1]
    return Coalesce(Subquery(saved), Value(ACCESS_ALERT_DEFAULT))


def files_opened_above(
    *, start: datetime, end: datetime, threshold: int | Coalesce, tz=None
) -> list[VolumeRow]:
    """(user, local day, different clients opened) above `threshold` in [start, end): one
    aggregate query over the `at` index's range."""
    tz = tz or alert_zone()
    rows = (
        AccessLog.objects.filter(
            at__gte=start, at__lt=end, action__in=FILE_READS, user__isnull=False, customer__isnull=False
        )
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values("user_id", "user__username", "user__staff__display_name", "day")
        .annotate(files=Count("customer_id", distinct=True))
        .filter(files__gt=threshold)
        .order_by("day", "-files", "user_id")
    )
    return [
        VolumeRow(
            r["user_id"], _name(r["user__username"], r["user__staff__display_name"]), r["day"], r["files"]
        )
        for r in rows
    ]


def access_alerts_recent(*, now: datetime | None = None) -> list[VolumeRow]:
    """What the owners' banner shows: the alerts raised in the last ALERT_DAYS local days, and
    those of yesterday and today as they stand now (the nightly task raises them for good; a
    busy morning shows before). Newest day first. Two queries: the stored alerts, and the live
    count with the threshold read inside it."""
    now = now or timezone.now()
    tz = alert_zone()
    today = now.astimezone(tz).date()
    found: dict[tuple[int, date], VolumeRow] = {}
    stored = (
        AccessAlert.objects.filter(day__gt=today - timedelta(days=ALERT_DAYS), user__isnull=False)
        .values("user_id", "user__username", "user__staff__display_name", "day", "files")
        .order_by()
    )
    for r in stored:
        found[(r["user_id"], r["day"])] = VolumeRow(
            r["user_id"], _name(r["user__username"], r["user__staff__display_name"]), r["day"], r["files"]
        )
    live = files_opened_above(
        start=day_start(today - timedelta(days=1), tz),
        end=now + timedelta(seconds=1),
        threshold=threshold_now(),
        tz=tz,
    )
    for row in live:
        known = found.get((row.user_id, row.day))
        if known is None or known.files < row.files:
            found[(row.user_id, row.day)] = row
    return sorted(found.values(), key=lambda r: (r.day, r.files, -r.user_id), reverse=True)


def access_alerts_for(user, *, now: datetime | None = None) -> list[VolumeRow]:
    """The banner's rows for this user: none (and no query) without accounts.review_access_log."""
    if not user.has_perm("accounts.review_access_log"):
        return []
    return access_alerts_recent(now=now)


# ---- the alert event (after commit): messaging tells the owners by email -------------------------

ACCESS_ALERT = "access_alert"


@dataclass(frozen=True)
class AccessAlertEvent(Event):
    alert_id: int
    user_id: int
    day: date
    files: int


alerts_bus = EventBus("customers.access_alerts", [ACCESS_ALERT])
