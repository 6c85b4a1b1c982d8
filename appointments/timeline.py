"""What appointments adds to customers: visits and appointments on the client card's timeline,
and "has a booking with them" as a reason a client is a stylist's (health-write rule)."""

from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentItem, Visit
from customers.timeline import TimelineEvent


def visit_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    """Completed and voided visits with their services: two queries (visits, lines)."""
    visits = (
        Visit.objects.filter(customer=customer)
        .select_related("location")
        .prefetch_related("lines__staff")
        .order_by("-started_at", "-pk")[:limit]
    )
    events = []
    for v in visits:
        title = _("Visit at %(location)s: ¥%(total)s") % {"location": v.location.name, "total": v.total}
        if v.status == Visit.Status.VOIDED:
            title = _("Voided visit at %(location)s") % {"location": v.location.name}
        detail = ", ".join(
            f"{line.description} ({line.staff.display_name})" if line.staff else line.description
            for line in v.lines.all()
        )
        events.append(TimelineEvent(at=v.started_at, kind="visit", title=title, detail=detail))
    return events


def appointment_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    """Upcoming, cancelled and no-show appointments (completed ones appear as visits): two queries."""
    rows = (
        Appointment.objects.filter(customer=customer)
        .exclude(status="completed")
        .select_related("location")
        .prefetch_related("items__service")
        .order_by("-start", "-pk")[:limit]
    )
    return [
        TimelineEvent(
            at=a.start,
            kind="appointment",
            title=_("Appointment (%(status)s) at %(location)s")
            % {"status": a.get_status_display(), "location": a.location.name},
            detail=", ".join(i.service.name for i in a.items.all()),
        )
        for a in rows
    ]


def has_booking_with(staff, customer) -> bool:
    return AppointmentItem.objects.filter(staff=staff, appointment__customer=customer).exists()


def register_sources() -> None:
    from customers import privacy, timeline

    timeline.register("visits", visit_events)
    timeline.register("appointments", appointment_events)
    privacy.register_stylist_client_check(has_booking_with)
