"""The events of appointments and visits (docs/architecture.md, "Events"): after commit, typed,
carrying ids, the appointment's version, the actor and the time.

messaging plans, re-plans and withdraws reminders; feedback plans the survey; analytics marks a
day dirty. They subscribe from their AppConfig.ready():

    from appointments import events
    events.subscribe("messaging.reminders", plan_reminders, kinds=[events.BOOKED, events.MOVED])

A listener runs after the booking's transaction has committed and never before (nothing is sent
for a booking that was rolled back); one that raises is logged and never turns the committed
booking into an error. For what must be all-or-nothing with the write (charging a stored-value
card, selling a package, merging clients) use the in-transaction registries instead
(appointments.payments, appointments.line_kinds, customers.services.merge)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from salon_crm.events import Event, EventBus, actor_id

# Appointment events (AppointmentEvent)
BOOKED = "booked"
CONFIRMED = "confirmed"
MOVED = "moved"
CANCELLED = "cancelled"
CHECKED_IN = "checked_in"
STARTED = "started"
NO_SHOW = "no_show"
COMPLETED = "completed"
APPOINTMENT_KINDS = (BOOKED, CONFIRMED, MOVED, CANCELLED, CHECKED_IN, STARTED, NO_SHOW, COMPLETED)
# Visit events (VisitEvent)
VISIT_COMPLETED = "visit_completed"
VISIT_VOIDED = "visit_voided"
VISIT_KINDS = (VISIT_COMPLETED, VISIT_VOIDED)


@dataclass(frozen=True)
class AppointmentEvent(Event):
    appointment_id: int
    customer_id: int
    location_id: int
    version: int  # reminders key on (appointment, kind, version): a move bumps it
    moved_from: datetime | None = None  # MOVED: where it started before (the old day's figures)


@dataclass(frozen=True)
class VisitEvent(Event):
    visit_id: int
    customer_id: int
    location_id: int
    appointment_id: int | None  # None for a sale without a booking


bus = EventBus("appointments", APPOINTMENT_KINDS + VISIT_KINDS)
subscribe = bus.subscribe
unsubscribe = bus.unsubscribe
listening = bus.listening


def appointment_event(kind: str, appointment, *, by, moved_from: datetime | None = None) -> None:
    """Emit `kind` for `appointment` (its version must be the saved one, not an F()); for MOVED,
    `moved_from` is its start before the move."""
    if kind not in APPOINTMENT_KINDS:
        raise ValueError(f"not an appointment event: {kind!r}")
    bus.emit(
        AppointmentEvent(
            kind=kind,
            at=timezone.now(),
            actor_id=actor_id(by),
            appointment_id=appointment.pk,
            customer_id=appointment.customer_id,
            location_id=appointment.location_id,
            version=appointment.version,
            moved_from=moved_from,
        )
    )


def visit_event(kind: str, visit, *, by) -> None:
    if kind not in VISIT_KINDS:
        raise ValueError(f"not a visit event: {kind!r}")
    bus.emit(
        VisitEvent(
            kind=kind,
            at=timezone.now(),
            actor_id=actor_id(by),
            visit_id=visit.pk,
            customer_id=visit.customer_id,
            location_id=visit.location_id,
            appointment_id=visit.appointment_id,
        )
    )
