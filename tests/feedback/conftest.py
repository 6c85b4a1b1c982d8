"""Feedback fixtures: the salon of the booking tests on a clock the test moves, sales at its
desk with the visit events delivered (as after a real commit), and small builders of surveys,
complaints and follow-up calls."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from feedback import services
from feedback.models import Complaint, FollowUp, Survey
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments import fixtures_core
from tests.appointments.factories import CustomerFactory, ServiceFactory

salon = fixtures_core.salon


class Clock:
    """timezone.now() answers `now`; set() or advance() it."""

    def __init__(self, moment: datetime):
        self.now = moment.astimezone(UTC)

    def set(self, moment: datetime) -> datetime:
        self.now = moment.astimezone(UTC)
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch, salon):
    """08:00 at the salon on fixtures_core.DAY (before opening), then wherever the test moves it.
    Every service reads timezone.now() at call time, so none depends on the wall clock."""
    c = Clock(salon.at(8))
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c


@pytest.fixture
def emails(owner, manager, reception, stylist, other_stylist):
    """Everyone of the salon has an email address (staff notices go by email)."""
    for staff in (owner, manager, reception, stylist, other_stylist):
        staff.user.email = f"{staff.user.username}@salon.test"
        staff.user.save(update_fields=["email"])


@pytest.fixture
def sell(salon, reception, clock, django_capture_on_commit_callbacks):
    """sell(service=…, lines=[...], customer=…, deliver=True) -> Visit: a walk-in sale at the
    desk, paid in cash; with `deliver` the after-commit events run as after a real commit
    (feedback plans the survey and the calls)."""

    def run(*, service=None, lines=None, customer=None, by=None, deliver=True, staff=None, location=None):
        if lines is None:
            lines = [CheckoutLine(kind="service", service=service or salon.cut, staff=staff or salon.stylist)]
        customer = customer or salon.customer

        def checkout():
            from appointments.services import checkout_quote

            total = checkout_quote(lines=lines, discount=Decimal("0"), customer=customer).total
            return visit_checkout(
                location=location or salon.location,
                customer=customer,
                by=(by or reception).user,
                lines=lines,
                payments=[PaymentIn("cash", total)],
            )

        if not deliver:
            return checkout()
        with django_capture_on_commit_callbacks(execute=True):
            return checkout()

    return run


@dataclass
class Made:
    """Builders over the services (no events needed)."""

    salon: fixtures_core.Salon
    reception: object

    def survey(self, visit) -> Survey:
        return services.survey_plan(visit=visit)

    def complaint(self, *, customer=None, location=None, by=None, **kwargs) -> Complaint:
        kwargs.setdefault("category", Complaint.Category.SKILL)
        kwargs.setdefault("description", "The colour came out orange.")
        return services.complaint_open(
            customer=customer or self.salon.customer,
            location=location or self.salon.location,
            by=by or self.reception.user,
            **kwargs,
        )

    def follow_up(self, *, customer=None, assignee=None, due_on=None, by=None, **kwargs) -> FollowUp:
        kwargs.setdefault("purpose", "How is the colour?")
        return services.follow_up_create(
            customer=customer or self.salon.customer,
            location=kwargs.pop("location", self.salon.location),
            due_on=due_on or services.local_today(self.salon.location),
            by=by or self.reception.user,
            assignee=assignee,
            **kwargs,
        )


@pytest.fixture
def make(salon, reception, clock) -> Made:
    return Made(salon=salon, reception=reception)


@pytest.fixture
def perm(salon):
    """A service with a follow-up call on day 3 (回访 after a perm)."""
    return ServiceFactory(
        name="Perm",
        duration_minutes=90,
        price=Decimal("480.00"),
        follow_up_days=3,
        locations=[salon.location],
    )


__all__ = ["CustomerFactory", "LocationFactory", "StaffMemberFactory"]
