"""A checkout or a void marks its (location, day) dirty (after commit, appointments.events): the
next `compute_analytics --dirty` recomputes that day's roll-ups. An erasure, a merge or a change
of home location (customers.events) marks the lifecycle's stage changes out of date."""

from appointments import events
from appointments.models import Visit


def on_visit_event(event: events.VisitEvent) -> None:
    visit = Visit.objects.select_related("location").filter(pk=event.visit_id).first()
    if visit is not None:
        from analytics.rollups import mark_dirty

        mark_dirty(visit=visit)


# the fields of a client file the lifecycle population reads (analytics.lifecycle)
POPULATION_FIELDS = {"home_location", "created_at", "first_seen"}


def on_customer_event(event) -> None:
    """An erasure, a merge or a move of home location: the stage changes are no longer current
    (the funnel answers from the slower exact paths until the next refresh, within minutes)."""
    from customers import events as customer_events

    if event.kind != customer_events.UPDATED or POPULATION_FIELDS & set(event.fields):
        from analytics import lifecycle

        lifecycle.bump()


def subscribe() -> None:
    from customers import events as customer_events

    customer_events.subscribe(
        "analytics.lifecycle",
        on_customer_event,
        kinds=[customer_events.ERASED, customer_events.MERGED, customer_events.UPDATED],
    )
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
