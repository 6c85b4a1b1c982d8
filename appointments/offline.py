"""The offline day view's reads: today's clients of a user (customers/offline.py asks, through the
provider registered here) and the day pages a browser keeps for reading offline (salon_crm/offline.py)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.access import staff_of
from accounts.models import Location
from appointments.models import Appointment, AppointmentItem
from appointments.selectors import HIDDEN_ON_CALENDAR
from appointments.services.rules import day_bounds, local_date
from appointments.views.common import is_stylist


def today_client_ids(*, user, location: Location) -> list[int]:
    """Ids of today's clients (the location's local date), in the order of their first booking,
    cancelled bookings left out. The desk, managers and owners: every client booked at the
    location today; a stylist: the clients of their own services today (wherever those are, as
    on My day). One query."""
    if not user.has_perm("appointments.view_appointment"):
        return []
    day = local_date(location, timezone.now())
    if is_stylist(user):
        me = staff_of(user)
        if me is None:
            return []
        # A window wide enough for any zone, then the exact local date per item (as stylist_day).
        start = datetime.combine(day, datetime.min.time()).replace(tzinfo=UTC) - timedelta(hours=14)
        rows = (
            AppointmentItem.objects.filter(staff=me, start__gte=start, start__lt=start + timedelta(hours=50))
            .exclude(appointment__status__in=HIDDEN_ON_CALENDAR)
            .order_by("start", "pk")
            .values_list("appointment__customer_id", "start", "appointment__location__time_zone")
        )
        ids = [pk for pk, at, zone in rows if at.astimezone(ZoneInfo(zone)).date() == day]
    else:
        day_start, day_end = day_bounds(location, day)
        ids = list(
            Appointment.objects.filter(location=location, start__lt=day_end, end__gt=day_start)
            .exclude(status__in=HIDDEN_ON_CALENDAR)
            .order_by("start", "pk")
            .values_list("customer_id", flat=True)
        )
    return list(dict.fromkeys(ids))


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def day_pages(*, user, location: Location, home_is_today: bool) -> list[list[str]]:
    """The day pages this user's browser keeps, each as the URLs that show the same page (the
    first is the one fetched): Today ("/" too when it is this user's home page), then the day
    calendar for the desk or My day for a stylist, with and without today's date."""
    today = local_date(location, timezone.now()).isoformat()
    pages = [[reverse("accounts:today"), *(["/"] if home_is_today else [])]]
    if user.has_perm("appointments.view_appointment"):
        day_page = _url("appointments:my_day" if is_stylist(user) else "appointments:day")
        if day_page:
            pages.append([day_page, f"{day_page}?date={today}"])
    return pages


def register() -> None:
    from customers.offline import register_today_clients

    register_today_clients(today_client_ids)
