"""A checkout or a void marks its (location, day) dirty (after commit, appointments.events): the
next `compute_analytics --dirty` recomputes that day's roll-ups."""

from appointments import events
from appointments.models import Visit


def on_visit_event(event: events.VisitEvent) -> None:
    visit = Visit.objects.select_related("location").filter(pk=event.visit_id).first()
    if visit is not None:
        from analytics.rollups import mark_dirty

        mark_dirty(visit=visit)


def subscribe() -> None:
    events.subscribe(
        "analytics.dirty_days", on_visit_event, kinds=[events.VISIT_COMPLETED, events.VISIT_VOIDED]
    )
    # a booking, a move, a cancellation or a no-show changes its day's booked minutes (and its
    # booking counters): analytics.breakdowns marks the day it now starts on
    from analytics.breakdowns import mark_appointment_dirty

    events.subscribe(
        "analytics.dirty_booking_days",
        mark_appointment_dirty,
        kinds=[events.BOOKED, events.MOVED, events.CANCELLED, events.NO_SHOW],
    )
