"""The front desk's daily summary (/desk/summary/) and a stylist's own figures (/my-stats/).

Who sees what (issue 13, item 6):
- the daily summary: whoever takes payment (appointments.checkout: the desk, managers, owners),
  for their current location only (the header's switcher), one day at a time: never the chain;
- my stats: a staff member's own figures, never anyone else's (there is no parameter naming
  someone). Stylists, and managers or owners who take clients themselves (bookable, and writing
  service records); everyone else is refused (403)."""

from datetime import timedelta

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.access import current_location, staff_of
from analytics import desk
from appointments.catalogue_forms import IsoDateField
from appointments.services.rules import local_date
from appointments.views.common import parse_day
from feedback.selectors import is_stylist


@login_required
@permission_required("appointments.checkout", raise_exception=True)
def daily_summary(request: HttpRequest) -> HttpResponse:
    location = current_location(request)
    if location is None:
        raise Http404("No location")
    asked = request.GET.get("date")
    day = parse_day(asked, location)
    summary = desk.daily_summary(location, day)
    with timezone.override(location.tz):
        return render(
            request,
            "analytics/daily_summary.html",
            {
                "location": location,
                "summary": summary,
                "today": local_date(location, timezone.now()),
                "prev_day": day - timedelta(days=1),
                "bad_date": bool(asked) and asked != day.isoformat(),
            },
        )


class PeriodForm(forms.Form):
    start = IsoDateField(label=gettext_lazy("From"), required=False)
    end = IsoDateField(label=gettext_lazy("To"), required=False)


def may_see_own_stats(user) -> bool:
    """Stylists; managers and owners only when they take clients themselves."""
    staff = staff_of(user)
    if staff is None or not staff.is_active or not user.has_perm("appointments.add_servicerecord"):
        return False
    return is_stylist(user) or staff.is_bookable


@login_required
def my_stats(request: HttpRequest) -> HttpResponse:
    if not may_see_own_stats(request.user):
        raise PermissionDenied("Only your own figures, for those who take clients.")
    me = staff_of(request.user)
    location = current_location(request)
    today = local_date(location, timezone.now()) if location else timezone.localdate()
    start, end = today - timedelta(days=29), today
    form = PeriodForm(request.GET or None)
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
    if end < start:
        start, end = end, start
    return render(
        request,
        "analytics/my_stats.html",
        {"form": form, "me": me, "stats": desk.my_stats(me, start=start, end=end)},
    )


def today_panel(request):
    """A link on the Today page to the pages above, for those who may open them."""
    user = request.user
    links = []
    if user.has_perm("appointments.checkout") and current_location(request) is not None:
        links.append("summary")
    if may_see_own_stats(user):
        links.append("stats")
    if not links:
        return None
    from accounts.home import Panel

    return Panel(template="analytics/desk_panel.html", context={"links": links}, order=90)
