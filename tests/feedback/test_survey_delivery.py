"""The survey goes out through the outbox: two hours after checkout, held back by quiet hours
(21:00–09:00 in the location's zone), once, with a link that works; once sent it counts in the
response rate."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments.line_kinds import CheckoutLine
from appointments.services import PaymentIn, visit_checkout
from feedback import selectors, services
from feedback.models import Survey
from messaging import dispatch
from messaging.channels import local
from messaging.models import OutboundMessage
from tests.appointments import fixtures_core

salon = fixtures_core.salon
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_outbox():
    local.outbox.clear()
    yield
    local.outbox.clear()


def test_a_survey_planned_into_the_quiet_hours_goes_out_at_nine_the_next_morning(
    salon, reception, monkeypatch, django_capture_on_commit_callbacks
):
    salon.customer.phone = "+8613800138000"
    salon.customer.save()
    checkout_at = salon.at(19, 30)  # local: the survey is due at 21:30, inside the quiet hours
    clock = {"now": checkout_at}
    monkeypatch.setattr(timezone, "now", lambda: clock["now"])
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_checkout(
            location=salon.location,
            customer=salon.customer,
            by=reception.user,
            lines=[CheckoutLine(kind="service", service=salon.cut, staff=salon.stylist)],
            discount=Decimal("0"),
            payments=[PaymentIn("cash", Decimal("200.00"))],
        )
    survey = Survey.objects.get(visit=visit)
    message = OutboundMessage.objects.get(idempotency_key=f"visit:{visit.pk}:survey")
    assert survey.message == message and message.scheduled_for == checkout_at + timedelta(hours=2)
    assert services.survey_link(survey) in message.body

    clock["now"] = salon.at(21, 31)
    dispatch.dispatch_pass(now=clock["now"])
    message.refresh_from_db()
    next_morning = salon.at(9, day=fixtures_core.DAY + timedelta(days=1))
    assert message.status == "queued" and message.scheduled_for == next_morning
    assert [m.kind for m in local.outbox if m.kind == "survey"] == []
    assert selectors.score_summary(Survey.objects.all())["sent"] == 0

    clock["now"] = next_morning + timedelta(minutes=1)
    dispatch.dispatch_pass(now=clock["now"])
    dispatch.dispatch_pass(now=clock["now"])  # a second pass sends nothing again
    assert [m.kind for m in local.outbox if m.kind == "survey"] == ["survey"]
    summary = selectors.score_summary(Survey.objects.all())
    assert (summary["sent"], summary["answered"], summary["response_rate"]) == (1, 0, 0.0)
    services.survey_answer(survey=survey, csat=4, nps=9)
    summary = selectors.score_summary(Survey.objects.all())
    assert (summary["response_rate"], summary["csat"], summary["nps"]) == (1.0, 1.0, 100.0)
