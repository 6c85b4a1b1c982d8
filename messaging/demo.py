"""The demo salon's messages: the reminders of its upcoming bookings are planned (as the
booking events would have), so the delivery log and `manage.py dispatch_messages` have work."""

from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from messaging.appointment_messages import plan_appointment_messages
from messaging.models import OutboundMessage


def seed_messages(ctx) -> None:
    if OutboundMessage.objects.filter(idempotency_key__startswith="appointment:").exists():
        ctx.log("messaging: already seeded")
        return
    upcoming = (
        Appointment.objects.filter(
            start__gt=timezone.now(), status__in=[AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED]
        )
        .select_related("customer", "location")
        .prefetch_related("items__service", "items__staff")
    )
    for appointment in upcoming:
        plan_appointment_messages(appointment, notice=False)  # booked long ago: reminders only
    ctx.log(f"messaging: {OutboundMessage.objects.count()} messages planned for the upcoming bookings")
