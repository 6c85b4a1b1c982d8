"""The roll-ups give the numbers of the raw definitions: on a random history (two locations in
Shanghai and New York, visits near local midnight, two visits on one day, bookings made and
cancelled at any time, no-shows, surveys), for random periods, locations and as-of days; then
after a late void (only its day recomputed: DirtyDay) and a visit imported into a day already
rolled up (the nightly rebuild)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Location
from analytics import metrics, rollups
from analytics.models import DirtyDay, VisitDay
from appointments.models import Appointment, Visit
from feedback.models import Survey
from tests.accounts.factories import LocationFactory
from tests.appointments.factories import CustomerFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def _history(seed: int) -> list[Location]:
    rng = random.Random(seed)
    shanghai = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    new_york = LocationFactory(code="ny", time_zone="America/New_York")
    locations = [shanghai, new_york]
    clients = [CustomerFactory() for _ in range(25)]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(160):
        client = rng.choice(clients)
        location = rng.choice(locations)
        moment = base + timedelta(days=rng.randint(0, 200), hours=rng.choice([0, 3, 9, 15, 15.9, 16.1, 23.5]))
        visit = Visit.objects.create(
            customer=client,
            location=location,
            status=Visit.Status.COMPLETED,
            started_at=moment,
            completed_at=moment + timedelta(hours=1),
            subtotal=Decimal(rng.choice(["120.00", "380.50", "680.00"])),
            total=Decimal(rng.choice(["120.00", "380.50", "680.00"])),
        )
        if rng.random() < 0.15:  # the same client again that day
            Visit.objects.create(
                customer=client,
                location=location,
                status=Visit.Status.COMPLETED,
                started_at=moment + timedelta(hours=2),
                completed_at=moment + timedelta(hours=3),
                total=Decimal("50.00"),
            )
        if rng.random() < 0.5:
            answered = rng.random() < 0.7
            Survey.objects.create(
                visit=visit,
                customer=client,
                location=location,
                nonce="n",
                created_at=moment,
                send_at=moment + timedelta(hours=2),
                expires_at=moment + timedelta(days=14),
                answered_at=moment + timedelta(hours=5) if answered else None,
                csat=rng.randint(1, 5) if answered else None,
                nps=rng.randint(0, 10) if answered and rng.random() < 0.8 else None,
            )
        if rng.random() < 0.6:  # a booking made that day or later, for a later day
            made = moment + timedelta(hours=rng.choice([-30, 1, 10, 30]))
            start = moment + timedelta(days=rng.randint(1, 60))
            status = rng.choice(["booked", "completed", "cancelled", "no_show", "cancelled"])
            Appointment.objects.create(
                customer=client,
                location=rng.choice(locations),
                status=status,
                source="front_desk",
                start=start,
                end=start + timedelta(hours=1),
                created_at=made,
                cancelled_at=made + timedelta(hours=rng.choice([2, 48])) if status == "cancelled" else None,
            )
    for _ in range(3):  # voided visits count for nothing
        Visit.objects.filter(pk=Visit.objects.order_by("?").first().pk).update(status=Visit.Status.VOIDED)
    return locations


def _questions(rng, locations):
    for _ in range(12):
        start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 150))
        end = start + timedelta(days=rng.randint(0, 120))
        where = rng.choice([None, [locations[0]], [locations[1]], locations])
        as_of = rng.choice([AS_OF, end, date(2026, 12, 31), start + timedelta(days=100)])
        yield {"start": start, "end": end, "locations": where, "as_of": as_of}


def _assert_same(locations, seed: int) -> None:
    rng = random.Random(seed)
    for q in _questions(rng, locations):
        raw, rolled = metrics.summary(**q), rollups.summary(**q)
        assert raw == rolled, {k: (raw[k], rolled[k]) for k in raw if raw[k] != rolled[k]} | {"q": q}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_raw_definitions_on_a_random_history(seed, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    locations = _history(seed)
    result = rollups.rebuild(as_of=AS_OF)
    assert result["visit_days"] == VisitDay.objects.count() > 50
    _assert_same(locations, seed)

    # a late void: only its day is recomputed (the event marks it dirty)
    visit = Visit.objects.filter(status=Visit.Status.COMPLETED).order_by("started_at").first()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.VOIDED)
    rollups.mark_dirty(visit=visit)
    assert DirtyDay.objects.count() == 1
    rollups.rebuild_dirty(as_of=AS_OF)
    assert not DirtyDay.objects.exists()
    _assert_same(locations, seed + 100)

    # a visit imported into a day already rolled up (an import sends no events): the nightly
    # rebuild takes it in
    Visit.objects.create(
        customer=CustomerFactory(),
        location=locations[0],
        status=Visit.Status.COMPLETED,
        started_at=datetime(2026, 2, 3, 2, 0, tzinfo=UTC),
        total=Decimal("999.00"),
        external_id="imported-1",
    )
    rollups.rebuild(as_of=AS_OF)
    _assert_same(locations, seed + 200)


def test_a_checkout_marks_its_local_day_dirty(monkeypatch, django_capture_on_commit_callbacks):
    from appointments import events

    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    visit = Visit.objects.create(
        customer=CustomerFactory(),
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=datetime(2026, 3, 1, 17, 30, tzinfo=UTC),  # 01:30 on 2 March in Shanghai
        total=Decimal("100.00"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        events.visit_event(events.VISIT_COMPLETED, visit, by=None)
    assert list(DirtyDay.objects.values_list("location_id", "day")) == [(location.pk, date(2026, 3, 2))]


def test_compute_analytics_command(capsys):
    from django.core.management import call_command

    call_command("compute_analytics", "--as-of", "2026-06-30")
    assert "location-days" in capsys.readouterr().out
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        call_command("compute_analytics", "--as-of", "30/06/2026")


def test_merging_two_clients_rolls_both_histories_up_onto_the_kept_one(
    manager, django_capture_on_commit_callbacks
):
    from analytics.models import CustomerMetrics
    from customers.services import customer_merge

    # given: two files of one person, each with a rolled-up visit
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    keep, merge = CustomerFactory(), CustomerFactory()
    for client, day, total in ((keep, 3, "100.00"), (merge, 9, "250.00")):
        moment = datetime(2026, 3, day, 4, tzinfo=UTC)
        Visit.objects.create(
            customer=client,
            location=location,
            status=Visit.Status.COMPLETED,
            started_at=moment,
            completed_at=moment,
            total=Decimal(total),
        )
    rollups.rebuild(as_of=AS_OF)
    assert CustomerMetrics.objects.count() == 2

    # when: the desk merges them
    with django_capture_on_commit_callbacks(execute=True):
        record = customer_merge(keep=keep, merge=merge, by=manager.user)

    # then: one figures row, the kept client's, counting both visits; the raw definitions agree
    assert record.moved["analytics.CustomerMetrics.customer"] == 1
    figures = CustomerMetrics.objects.get()
    assert (figures.customer_id, figures.visits, figures.revenue) == (keep.pk, 2, Decimal("350.00"))
    assert (figures.first_day, figures.last_day) == (date(2026, 3, 3), date(2026, 3, 9))
    assert set(VisitDay.objects.values_list("customer_id", flat=True)) == {keep.pk}
    # the days stay marked for the next --dirty run (a checkout racing the refresh is not lost)
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {date(2026, 3, 3), date(2026, 3, 9)}
