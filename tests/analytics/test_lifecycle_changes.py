"""The lifecycle funnel from the stage changes (analytics.lifecycle) gives the raw definition's five
counts (analytics.metrics.lifecycle) on every day asked, past ones included, for the chain and each
location: on random histories with clients who visit often (a running median gap of many visit
days), rarely, twice on one day, at two locations, clients first seen after their first visit,
clients who never came, at home somewhere they never visited. After an erasure the changes
decline (the exact path answers) until the next refresh; a client created since counts at once."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Location
from analytics import lifecycle, metrics, rollups
from analytics.models import LifecycleChange
from appointments.models import Visit
from customers.models import Customer
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.appointments.factories import CustomerFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _visit(client, location, moment) -> None:
    Visit.objects.create(
        customer=client,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=moment,
        completed_at=moment + timedelta(hours=1),
        total=Decimal("100.00"),
    )


def _history(seed: int):
    rng = random.Random(seed)
    shanghai = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    london = LocationFactory(code="ld", time_zone="Europe/London")
    locations = [shanghai, london]
    LocationFactory(code="ny", time_zone="America/New_York")  # a third: the chain is not the two
    StaffMemberFactory(role="manager", locations=locations)  # "all my locations": a set of two
    base = datetime(2025, 1, 1, tzinfo=UTC)
    clients = []
    for i in range(30):
        seen = base + timedelta(days=rng.randint(-200, 600), hours=rng.choice([0, 15.5, 23]))
        home = rng.choice([None, shanghai, london])
        client = CustomerFactory(home_location=home)
        Customer.objects.filter(pk=client.pk).update(created_at=seen)
        clients.append(client)
        kind = i % 5
        if kind == 0:  # never came
            continue
        n = {1: rng.randint(1, 3), 2: rng.randint(4, 25), 3: rng.randint(3, 8), 4: rng.randint(1, 12)}[kind]
        day = seen + timedelta(days=rng.randint(-60, 120))  # may be before they were first seen
        for _ in range(n):
            location = rng.choice(locations) if kind == 4 else (home or shanghai)
            _visit(client, location, day)
            if rng.random() < 0.1:  # twice that day
                _visit(client, location, day + timedelta(hours=1))
            # steady clients come every few weeks; others with long and uneven gaps
            day += timedelta(
                days=rng.randint(10, 40) if kind == 2 else rng.randint(1, 300), hours=rng.choice([0, 9])
            )
    voided = Visit.objects.order_by("?").first()
    Visit.objects.filter(pk=voided.pk).update(status=Visit.Status.VOIDED)
    return locations, clients


def _days(rng):
    fixed = [date(2024, 6, 1), date(2025, 1, 1), date(2026, 12, 1), date(2030, 1, 1), date.max]
    return fixed + [date(2024, 9, 1) + timedelta(days=rng.randint(0, 1000)) for _ in range(25)]


def _assert_same(locations, seed: int) -> None:
    rng = random.Random(seed)
    for as_of in _days(rng):
        for where in (None, [locations[0]], [locations[1]], locations):
            raw = metrics.lifecycle(as_of=as_of, locations=where)
            if where is None or len(where) == 1:
                fast = lifecycle.counts(as_of=as_of, location=None if where is None else where[0].pk)
            else:
                fast = lifecycle.counts(as_of=as_of, locations=[x.pk for x in where])
            assert fast == {s: raw[s] for s in metrics.STAGES}, (as_of, where)
            assert rollups.lifecycle(as_of=as_of, locations=where) == raw


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_stage_changes_give_the_raw_lifecycle_on_any_day(seed, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    locations, _clients = _history(seed)
    rollups.rebuild(as_of=NOW.date())
    assert LifecycleChange.objects.filter(location=None).exists()
    _assert_same(locations, seed)
    # a set of locations no manager has: not kept (the client figures or the raw visits answer)
    other = [locations[0], Location.objects.get(code="ny")]
    assert lifecycle.counts(as_of=date(2026, 12, 1), locations=[x.pk for x in other]) is None
    answer = rollups.lifecycle(as_of=date(2026, 12, 1), locations=other)
    assert answer is None or answer == metrics.lifecycle(as_of=date(2026, 12, 1), locations=other)


def test_a_late_void_refreshes_the_changes_with_its_day(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    locations, _clients = _history(7)
    rollups.rebuild(as_of=NOW.date())
    visit = Visit.objects.filter(status=Visit.Status.COMPLETED).order_by("started_at").first()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.VOIDED)
    rollups.mark_dirty(visit=visit)
    rollups.rebuild_dirty(as_of=NOW.date())
    _assert_same(locations, 8)


def test_an_erasure_makes_the_changes_decline_until_the_next_refresh(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    locations, clients = _history(5)
    rollups.rebuild(as_of=NOW.date())
    day = date(2026, 6, 1)
    before = lifecycle.counts(as_of=day)
    assert before is not None
    gone = next(c for c in clients if Visit.objects.filter(customer=c).exists())
    Customer.objects.filter(pk=gone.pk).update(erased_at=NOW)
    lifecycle.bump()  # what the ERASED event's listener does
    assert lifecycle.counts(as_of=day) is None
    assert rollups.lifecycle(as_of=day) is None  # a past day: the API asks the raw visits
    rollups.rebuild_dirty(as_of=NOW.date())  # no dirty day, but the changes are out of date
    after = lifecycle.counts(as_of=day)
    assert after == {s: metrics.lifecycle(as_of=day)[s] for s in metrics.STAGES}
    assert sum(after.values()) == sum(before.values()) - 1


def test_the_erased_event_marks_the_changes_out_of_date(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    from customers import events

    _history(9)
    rollups.rebuild(as_of=NOW.date())
    assert not lifecycle.stale()
    client = Customer.objects.first()
    with django_capture_on_commit_callbacks(execute=True):
        events.customer_event(events.ERASED, customer_id=client.pk, by=None)
    assert lifecycle.stale()
    with django_capture_on_commit_callbacks(execute=True):
        events.customer_event(events.UPDATED, customer_id=client.pk, fields=("notes",), by=None)
    rollups.rebuild_dirty(as_of=NOW.date())
    assert not lifecycle.stale()
    with django_capture_on_commit_callbacks(execute=True):
        events.customer_event(events.UPDATED, customer_id=client.pk, fields=("notes",), by=None)
    assert not lifecycle.stale()  # a field the population does not read
    with django_capture_on_commit_callbacks(execute=True):
        events.customer_event(events.UPDATED, customer_id=client.pk, fields=("home_location",), by=None)
    assert lifecycle.stale()


def test_a_client_created_after_the_refresh_is_potential_at_once(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    locations, _clients = _history(3)
    rollups.rebuild(as_of=NOW.date())
    before = lifecycle.counts(as_of=NOW.date(), location=locations[0].pk)
    for home in locations:
        Customer.objects.filter(pk=CustomerFactory(home_location=home).pk).update(created_at=NOW)
    after = lifecycle.counts(as_of=NOW.date(), location=locations[0].pk)
    assert after["potential"] == before["potential"] + 1
    chain = lifecycle.counts(as_of=NOW.date())
    assert chain == {s: metrics.lifecycle(as_of=NOW.date())[s] for s in metrics.STAGES}
    # not yet on a day before they were created
    assert lifecycle.counts(as_of=NOW.date() - timedelta(days=1)) == {
        s: metrics.lifecycle(as_of=NOW.date() - timedelta(days=1))[s] for s in metrics.STAGES
    }


def test_no_client_at_all():
    rollups.rebuild(as_of=date(2026, 12, 1))
    assert lifecycle.counts(as_of=date(2026, 12, 1)) == dict.fromkeys(metrics.STAGES, 0)


def test_the_funnel_reads_two_small_queries(monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    _history(2)
    rollups.rebuild(as_of=NOW.date())
    with django_assert_max_num_queries(3):
        lifecycle.counts(as_of=date(2025, 3, 3))
