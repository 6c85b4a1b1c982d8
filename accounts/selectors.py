from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts.models import Location, OpeningHours, StaffMember


def staff_list_for_location(*, location: Location) -> QuerySet[StaffMember]:
    return (
        StaffMember.objects.active()
        .at_location(location)
        .select_related("user")
        .order_by("role", "display_name")
    )


def location_today(*, location: Location) -> dict:
    """Local date/time at the location and today's opening periods (one query)."""
    now_local = timezone.now().astimezone(location.tz)
    hours = list(
        OpeningHours.objects.filter(location=location, weekday=now_local.weekday()).order_by("opens")
    )
    return {"now": now_local, "date": now_local.date(), "opening_hours": hours, "tz_name": location.time_zone}


def locations_with_staff(*, locations: QuerySet[Location]) -> QuerySet[Location]:
    return locations.prefetch_related(
        Prefetch(
            "staff", queryset=StaffMember.objects.active().select_related("user").order_by("display_name")
        ),
        "opening_hours",
    )
