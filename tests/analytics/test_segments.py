"""RFM segments and the seeds' classes (docs/metrics.md): the mapping, and the client card
showing them after a roll-up."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics import rollups
from analytics.models import CustomerMetrics
from analytics.segments import classify, segment_of
from appointments.models import Visit
from tests.appointments.factories import CustomerFactory


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (5, 5, "champions"),
        (4, 4, "champions"),
        (3, 4, "loyal"),
        (2, 3, "loyal"),
        (5, 1, "promising"),
        (4, 3, "loyal"),
        (1, 5, "at_risk"),
        (1, 1, "hibernating"),
        (2, 2, "hibernating"),
        (3, 1, "attention"),
        (3, 2, "attention"),
    ],
)
def test_every_recency_and_frequency_score_has_one_segment(r, f, segment):
    assert segment_of(r, f)[0] == segment


def test_value_frequency_and_spending_classes(settings):
    settings.ANALYTICS_HIGH_FREQUENCY_VISITS = 6
    m = CustomerMetrics(recency_score=5, frequency_score=5, monetary_score=5, visits_12m=6)
    c = classify(m)
    assert (c.value, c.frequency, c.spending) == ("vip", "high", "high")
    m = CustomerMetrics(recency_score=2, frequency_score=1, monetary_score=1, visits_12m=5)
    c = classify(m)
    assert (c.value, c.frequency, c.spending, c.segment) == ("regular", "low", "low", "hibernating")
    assert classify(CustomerMetrics(recency_score=0)) is None and classify(None) is None


@pytest.mark.django_db
def test_the_card_shows_the_class_after_a_rollup(client_as, manager, location):
    regular, vip = CustomerFactory(name="常客"), CustomerFactory(name="大客户")
    for n, (client, total) in enumerate([(regular, "100.00"), (vip, "5000.00")]):
        for day in (1, 15):
            Visit.objects.create(
                customer=client,
                location=location,
                status=Visit.Status.COMPLETED,
                started_at=datetime(2026, 11, day, 3 + n, tzinfo=UTC),
                total=Decimal(total),
            )
    rollups.rebuild(as_of=date(2026, 12, 1))
    c = client_as(manager)
    page = c.get(reverse("customers:detail", args=[vip.pk])).content.decode()
    assert "VIP" in page and "R" in page
    never = CustomerFactory(name="新客")
    assert "Potential" in c.get(reverse("customers:detail", args=[never.pk])).content.decode()
