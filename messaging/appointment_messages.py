"""Messages about appointments, planned from appointments' after-commit events:

- booked → a confirmation now, and reminders before the start (the location's
  `reminder_hours`, default 24 h and 2 h);
- moved → the queued messages of the old version are withdrawn, a "changed" notice now and new
  reminders (every key carries the version, so a re-plan never collides with the old plan);
- cancelled → everything queued is withdrawn, and a cancellation notice goes out;
- visit completed → a thank-you after settings.MESSAGING_THANK_YOU_DELAY_MINUTES (withdrawn if
  the visit is voided before).

Walk-ins, and bookings whose start has passed, get none. The text gives the local time and
names the zone, and a signed link to confirm or cancel (messaging.views.appointment_link)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import reminder_hours_list
from appointments import events
from appointments.models import Appointment, AppointmentSource, AppointmentStatus, Visit
from messaging import kinds
from messaging.services import language_of, message_enqueue, messages_withdraw
from salon_crm import dates

logger = logging.getLogger(__name__)
LINK_SALT = "messaging.appointment-link"
ACTIVE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def appointment_token(appointment: Appointment) -> str:
    """Signed, not timestamped: every message about one booking carries the same link."""
    return signing.Signer(salt=LINK_SALT).sign_object({"a": appointment.pk, "c": appointment.customer_id})


def appointment_link(appointment: Appointment) -> str:
    path = reverse("messaging:appointment", args=[appointment_token(appointment)])
    return settings.MESSAGING_PUBLIC_URL.rstrip("/") + path


def when_text(moment, tz, language: str) -> str:
    """'Fri 2026-12-04 10:00' / '12月4日 周五 10:00', in the location's zone, 24-hour: the
    pages' day label (salon_crm.dates), in the client's language whoever sends it."""
    return dates.when_text(moment, tz, language)


def _load(appointment_id: int) -> Appointment | None:
    return (
        Appointment.objects.select_related("customer", "location")
        .prefetch_related("items__service", "items__staff")
        .filter(pk=appointment_id)
        .first()
    )


def appointment_context(appointment: Appointment) -> dict:
    language = language_of(appointment.customer)
    items = list(appointment.items.all())
    return {
        "when": when_text(appointment.start, appointment.location.tz, language),
        "time_zone": appointment.location.time_zone,
        "services": ", ".join(dict.fromkeys(i.service.name for i in items)),
        "stylists": ", ".join(dict.fromkeys(i.staff.display_name for i in items)),
        "link": appointment_link(appointment),
        "starts_at": appointment.start.isoformat(),
    }


def _enqueue(appointment: Appointment, kind: str, key: str, when, context: dict) -> None:
    message_enqueue(
        customer=appointment.customer,
        kind=kind,
        key=key,
        context=context,
        when=when,
        location=appointment.location,
        appointment_id=appointment.pk,
        appointment_version=appointment.version,
        link=context["link"],
    )


def plan_appointment_messages(
    appointment: Appointment, *, changed: bool = False, notice: bool = True
) -> None:
    """The confirmation (or change notice, or with `notice` False none) now and the reminders,
    for the appointment's current version. Nothing for walk-ins or one that has started."""
    now = timezone.now()
    if appointment.source == AppointmentSource.WALK_IN or appointment.status not in ACTIVE:
        return
    if appointment.start <= now or appointment.customer.erased_at is not None:
        return
    context = appointment_context(appointment)
    prefix = f"appointment:{appointment.pk}:v{appointment.version}"
    if notice:
        first = kinds.CHANGED if changed else kinds.CONFIRMATION
        _enqueue(appointment, first, f"{prefix}:{first}", now, context)
    for hours in reminder_hours_list(appointment.location.reminder_hours):
        at = appointment.start - timedelta(hours=hours)
        if at > now:
            _enqueue(appointment, kinds.REMINDER, f"{prefix}:reminder:{hours}h", at, context)


REPAIR_WINDOW = timedelta(hours=24)


def repair_appointment_messages(*, limit: int = 500) -> int:
    """Plan the messages of bookings whose after-commit planning never ran; returns how many.

    A booking's messages are planned after its transaction commits (appointments' events). If
    the database goes away in between (a restart, a failover) or the process dies there, the
    booking stands and its confirmation and reminders were never written: the client would hear
    nothing. Every ten minutes (beat) this finds the active, future appointments with no message
    for their current version, booked in the last day or moved since, and plans them, keyed as
    the listener would have (so a listener that runs late changes nothing). One query, on the
    appointment index of the outbox. Stale messages need no repair: the dispatcher skips a
    message whose appointment was cancelled or moved since (messaging.dispatch)."""
    from django.db.models import Exists, OuterRef, Q

    from messaging.models import OutboundMessage

    now = timezone.now()
    planned = OutboundMessage.objects.filter(
        appointment_id=OuterRef("pk"), appointment_version=OuterRef("version")
    )
    missing = (
        Appointment.objects.filter(status__in=ACTIVE, start__gt=now, customer__erased_at__isnull=True)
        .filter(Q(created_at__gte=now - REPAIR_WINDOW) | Q(version__gt=1))
        .exclude(source=AppointmentSource.WALK_IN)
        .filter(~Exists(planned))
        .select_related("customer", "location")
        .order_by("pk")[:limit]
    )
    repaired = 0
    for appointment in missing:
        with transaction.atomic():
            plan_appointment_messages(appointment, changed=appointment.version > 1)
        repaired += 1
    if repaired:
        logger.warning(
            "planned the messages of %s booking(s) whose after-commit planning never ran", repaired
        )
    return repaired


@transaction.atomic
def on_appointment_event(event: events.AppointmentEvent) -> None:
    appointment = _load(event.appointment_id)
    if appointment is None:
        return
    if event.kind == events.BOOKED:
        plan_appointment_messages(appointment)
    elif event.kind == events.MOVED:
        messages_withdraw(
            appointment_id=appointment.pk,
            reason="withdrawn: the appointment moved",
            below_version=event.version,
        )
        plan_appointment_messages(appointment, changed=True)
    elif event.kind == events.CANCELLED:
        messages_withdraw(appointment_id=appointment.pk, reason="withdrawn: the appointment was cancelled")
        if appointment.start > timezone.now() and appointment.source != AppointmentSource.WALK_IN:
            context = appointment_context(appointment)
            message_enqueue(
                customer=appointment.customer,
                kind=kinds.CANCELLED,
                key=f"appointment:{appointment.pk}:cancelled",
                context=context,
                location=appointment.location,
            )


@transaction.atomic
def on_visit_event(event: events.VisitEvent) -> None:
    key = f"visit:{event.visit_id}:{kinds.THANK_YOU}"
    if event.kind == events.VISIT_VOIDED:
        from messaging.models import OutboundMessage

        OutboundMessage.objects.filter(idempotency_key=key, status=OutboundMessage.Status.QUEUED).update(
            status=OutboundMessage.Status.SUPPRESSED, reason="withdrawn: the visit was voided"
        )
        return
    visit = (
        Visit.objects.select_related("customer", "location").prefetch_related("lines").get(pk=event.visit_id)
    )
    services = ", ".join(dict.fromkeys(line.description for line in visit.lines.all() if line.service_id))
    message_enqueue(
        customer=visit.customer,
        kind=kinds.THANK_YOU,
        key=key,
        context={"services": services},
        when=timezone.now() + timedelta(minutes=settings.MESSAGING_THANK_YOU_DELAY_MINUTES),
        location=visit.location,
    )


def subscribe() -> None:
    events.subscribe(
        "messaging.appointments", on_appointment_event, kinds=[events.BOOKED, events.MOVED, events.CANCELLED]
    )
    events.subscribe("messaging.visits", on_visit_event, kinds=[events.VISIT_COMPLETED, events.VISIT_VOIDED])
