"""feedback's reactions to visit events (after commit, appointments.events): a completed visit
plans its survey and its follow-up calls; a voided one withdraws them."""

import logging

from django.db.models import Prefetch

from appointments import events
from appointments.models import Visit, VisitLine
from feedback import services

logger = logging.getLogger(__name__)


def on_visit_event(event: events.VisitEvent) -> None:
    """The survey and the calls each in their own transaction: one failing (logged) never
    costs the other."""
    if event.kind == events.VISIT_VOIDED:
        _each(event, services.survey_withdraw, services.follow_ups_cancel, visit_id=event.visit_id)
        return
    visit = (
        Visit.objects.select_related("customer", "location")
        .prefetch_related(Prefetch("lines", queryset=VisitLine.objects.select_related("service", "staff")))
        .filter(pk=event.visit_id)
        .first()
    )
    if visit is None:
        return
    _each(event, services.survey_plan, services.follow_ups_plan, visit=visit)


def _each(event, *steps, **kwargs) -> None:
    for step in steps:
        try:
            step(**kwargs)
        except Exception:  # an after-commit reaction never breaks the next one
            logger.exception("feedback: %s failed for visit %s", step.__name__, event.visit_id)


def subscribe() -> None:
    events.subscribe("feedback.visits", on_visit_event, kinds=[events.VISIT_COMPLETED, events.VISIT_VOIDED])
