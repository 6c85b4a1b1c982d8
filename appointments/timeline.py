"""What appointments adds to customers: visits and appointments on the client card's timeline,
and "has a booking with them" as a reason a client is a stylist's (health-write rule)."""

from django.db.models import OuterRef
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentItem, Visit, VisitLine
from customers.timeline import TimelineEvent
from salon_crm.rows import build_all, obj, rows


def visit_reads(*, user, limit: int) -> dict:
    """Completed and voided visits with their lines (and who did each)."""
    return {
        "visits": rows(
            Visit.objects.filter(customer=OuterRef("pk")).order_by("-started_at", "-pk")[:limit],
            id="pk",
            started_at="started_at",
            status="status",
            total="total",
            location=obj(id="location_id", name="location__name"),
            line_list=rows(
                VisitLine.objects.filter(visit=OuterRef("pk")).order_by("pk"),
                description="description",
                staff="staff__display_name",
            ),
        )
    }


def visit_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    events = []
    for v in build_all(Visit, data["visits"]):
        title = _("Visit at %(location)s: ¥%(total)s") % {"location": v.location.name, "total": v.total}
        if v.status == Visit.Status.VOIDED:
            title = _("Voided visit at %(location)s") % {"location": v.location.name}
        detail = ", ".join(
            f"{line['description']} ({line['staff']})" if line["staff"] else line["description"]
            for line in v.line_list
        )
        events.append(TimelineEvent(at=v.started_at, kind="visit", title=title, detail=detail))
    return events


def appointment_reads(*, user, limit: int) -> dict:
    """Upcoming, cancelled and no-show appointments (completed ones appear as visits)."""
    return {
        "appointments": rows(
            Appointment.objects.filter(customer=OuterRef("pk"))
            .exclude(status="completed")
            .order_by("-start", "-pk")[:limit],
            id="pk",
            start="start",
            status="status",
            location=obj(id="location_id", name="location__name"),
            item_list=rows(
                AppointmentItem.objects.filter(appointment=OuterRef("pk")).order_by("start", "pk"),
                service="service__name",
            ),
        )
    }


def appointment_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            at=a.start,
            kind="appointment",
            title=_("Appointment (%(status)s) at %(location)s")
            % {"status": a.get_status_display(), "location": a.location.name},
            detail=", ".join(i["service"] for i in a.item_list),
        )
        for a in build_all(Appointment, data["appointments"])
    ]


def has_booking_with(staff, customer) -> bool:
    return AppointmentItem.objects.filter(staff=staff, appointment__customer=customer).exists()


def register_sources() -> None:
    from customers import privacy, timeline

    timeline.register("visits", visit_events, reads=visit_reads)
    timeline.register("appointments", appointment_events, reads=appointment_reads)
    privacy.register_stylist_client_check(has_booking_with)
