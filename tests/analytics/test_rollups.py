"""The roll-ups give the numbers of the raw definitions: on a random history (two locations in
Shanghai and New York, visits near local midnight, two visits on one day, bookings made and
cancelled at any time, no-shows, surveys), for random periods, locations and as-of days (past
ones too), through rollups.summary and through GET /api/v1/metrics/summary/ (which reads them);
then after a late void (only its day recomputed: DirtyDay) and a visit imported into a day
already rolled up (the nightly rebuild). The summary's cache never answers from replaced
roll-ups, and the lifecycle read from the roll-ups equals the raw one where it is used."""

import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Location
from analytics import metrics, rollups
from analytics.api import SummaryOutput
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


def _assert_same(locations, seed: int, api=None) -> None:
    rng = random.Random(seed)
    for q in _questions(rng, locations):
        raw, rolled = metrics.summary(**q), rollups.summary(**q)
        assert raw == rolled, {k: (raw[k], rolled[k]) for k in raw if raw[k] != rolled[k]} | {"q": q}
        if api is not None and (q["locations"] is None or len(q["locations"]) == 1):
            _assert_api_same(api, q, raw)


def _assert_api_same(api, q: dict, raw: dict) -> None:
    """The endpoint (roll-ups) gives the raw definition's answer, in the API's JSON."""
    location = q["locations"][0].code if q["locations"] else None
    params = {"start": q["start"], "end": q["end"], "as_of": q["as_of"]}
    response = api.get("/api/v1/metrics/summary/", params | ({"location": location} if location else {}))
    assert response.status_code == 200, response.content
    expected = json.loads(json.dumps(SummaryOutput({**raw, "location": location}).data))
    assert response.json() == expected, q


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_raw_definitions_on_a_random_history(seed, monkeypatch, owner, api_as):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    locations = _history(seed)
    api = api_as(owner)
    result = rollups.rebuild(as_of=AS_OF)
    assert result["visit_days"] == VisitDay.objects.count() > 50
    _assert_same(locations, seed, api)
    _assert_same(locations, seed, api)  # again: now from the cache

    # a late void: only its day is recomputed (the event marks it dirty)
    visit = Visit.objects.filter(status=Visit.Status.COMPLETED).order_by("started_at").first()
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.VOIDED)
    rollups.mark_dirty(visit=visit)
    assert DirtyDay.objects.count() == 1
    rollups.rebuild_dirty(as_of=AS_OF)
    assert not DirtyDay.objects.exists()
    _assert_same(locations, seed + 100, api)
    _assert_same(locations, seed, api)  # the questions asked before the void: not from the cache

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
    _assert_same(locations, seed + 200, api)
    _assert_same(locations, seed, api)
    _assert_same_lifecycle(locations)


def _assert_same_lifecycle(locations) -> None:
    """The roll-ups' lifecycle is the raw answer: for the chain and one location on any day (the
    stage changes, analytics.lifecycle); for several locations where the client figures answer it
    (no visit day after as_of; before the last visit day they decline and the API asks the raw
    visits)."""
    last = VisitDay.objects.order_by("-day").values_list("day", flat=True).first()
    assert rollups.lifecycle(as_of=last - timedelta(days=1), locations=locations) is None
    for as_of in (last - timedelta(days=40), last - timedelta(days=1), last):
        for where in (None, [locations[0]], [locations[1]]):
            assert rollups.lifecycle(as_of=as_of, locations=where) == metrics.lifecycle(
                as_of=as_of, locations=where
            )
    if connection.vendor != "postgresql":  # the quick start keeps no median gap in the client figures
        assert rollups.lifecycle(as_of=last, locations=locations) is None
        return
    for as_of in (last, last + timedelta(days=45), last + timedelta(days=200), date(2027, 12, 31)):
        for where in (None, [locations[0]], [locations[1]], locations):
            rolled = rollups.lifecycle(as_of=as_of, locations=where)
            assert rolled == metrics.lifecycle(as_of=as_of, locations=where), (as_of, where)


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
    # the whole-chain figures wait for that run (not in the merge's request): until then the
    # funnel is counted the exact slower way; after it, from the stage changes again
    from analytics import lifecycle

    for day in (date(2026, 3, 5), AS_OF):
        assert lifecycle.counts(as_of=day) is None
        assert (rollups.lifecycle(as_of=day) or metrics.lifecycle(as_of=day)) == metrics.lifecycle(as_of=day)
    rollups.rebuild_dirty(as_of=AS_OF)
    for day in (date(2026, 3, 5), AS_OF):
        assert rollups.lifecycle(as_of=day) == metrics.lifecycle(as_of=day)
        assert lifecycle.counts(as_of=day) is not None


# ---- the summary's cache and its cost ---------------------------------------------------------


def _visit(client, location, moment, total="100.00") -> Visit:
    return Visit.objects.create(
        customer=client,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=moment,
        completed_at=moment + timedelta(hours=1),
        total=Decimal(total),
    )


def test_a_cached_summary_is_never_read_after_the_rollups_change(django_assert_max_num_queries):
    # given: a rolled-up visit, and its summary asked once (computed, then cached)
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    _visit(CustomerFactory(), location, datetime(2026, 3, 2, 2, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)
    ask = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "as_of": AS_OF}
    assert rollups.summary(**ask)["visits"] == 1
    with django_assert_max_num_queries(1):  # the generation's database marker, then the cache
        assert rollups.summary(**ask)["visits"] == 1

    # when: a checkout's day is refreshed (--dirty), the next answer counts it
    second = _visit(CustomerFactory(), location, datetime(2026, 3, 3, 2, tzinfo=UTC))
    rollups.mark_dirty(visit=second)
    rollups.rebuild_dirty(as_of=AS_OF)
    assert rollups.summary(**ask)["visits"] == 2 == metrics.summary(**ask)["visits"]

    # and a late void refreshed by the nightly rebuild: the same
    Visit.objects.filter(pk=second.pk).update(status=Visit.Status.VOIDED)
    rollups.rebuild(as_of=AS_OF)
    assert rollups.summary(**ask)["visits"] == 1 == metrics.summary(**ask)["visits"]


def test_a_summary_cached_under_replaced_figures_is_not_read_even_if_the_token_stays(monkeypatch):
    """The generation holds the daily figures' latest computed_at and count from the database:
    figures replaced without a new token (the cache was down at the bump) are still not
    answered from the cache."""
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    _visit(CustomerFactory(), location, datetime(2026, 3, 2, 2, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)
    ask = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "as_of": AS_OF}
    assert rollups.summary(**ask)["visits"] == 1
    monkeypatch.setattr(rollups, "_set_generation", lambda: None)  # the bump is lost
    _visit(CustomerFactory(), location, datetime(2026, 3, 9, 2, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)
    assert rollups.summary(**ask)["visits"] == 2


def test_the_summary_answers_without_a_cache(monkeypatch):
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    _visit(CustomerFactory(), location, datetime(2026, 3, 2, 2, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    for name in ("get", "set", "add"):
        monkeypatch.setattr(rollups.cache, name, down)
    ask = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "as_of": AS_OF}
    assert rollups.summary(**ask) == metrics.summary(**ask)


@pytest.mark.parametrize("n_locations", [1, 4])
def test_the_summary_reads_a_fixed_number_of_queries(n_locations, django_assert_max_num_queries):
    """However many locations and days: the generation marker, the daily figures, one scan of the
    visit days and one count of the client figures (cold); one query when cached."""
    locations = [LocationFactory(code=f"l{i}", time_zone="Asia/Shanghai") for i in range(n_locations)]
    for i, location in enumerate(locations):
        for day in range(1, 20, 3):
            _visit(CustomerFactory(), location, datetime(2026, 2, day, 2 + i, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)
    for where in (None, locations):
        ask = {"start": date(2026, 1, 1), "end": date(2026, 6, 30), "locations": where, "as_of": AS_OF}
        with django_assert_max_num_queries(4):
            assert rollups.summary(**ask)["visits"] == 7 * n_locations
        with django_assert_max_num_queries(1):
            rollups.summary(**ask)


def test_no_location_at_all_is_an_empty_answer_not_an_error():
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    _visit(CustomerFactory(), location, datetime(2026, 3, 2, 2, tzinfo=UTC))
    rollups.rebuild(as_of=AS_OF)
    ask = {"start": date(2026, 3, 1), "end": date(2026, 3, 31), "locations": [], "as_of": AS_OF}
    assert rollups.summary(**ask) == metrics.summary(**ask)
    assert rollups.summary(**ask)["visits"] == 0
    assert rollups.lifecycle(as_of=AS_OF, locations=[]) is None  # the raw definition answers


def test_a_dirty_refresh_keeps_the_clients_last_rfm_scores():
    from analytics.models import CustomerMetrics

    # given: two scored clients
    location = LocationFactory(code="sh", time_zone="Asia/Shanghai")
    clients = [CustomerFactory(), CustomerFactory()]
    for n, client in enumerate(clients):
        moment = datetime(2026, 3, 1 + n, 4, tzinfo=UTC)
        Visit.objects.create(
            customer=client,
            location=location,
            status=Visit.Status.COMPLETED,
            started_at=moment,
            total=Decimal(100 * (n + 1)),
        )
    rollups.rebuild(as_of=AS_OF)
    before = {
        m.customer_id: (m.recency_score, m.frequency_score, m.monetary_score)
        for m in CustomerMetrics.objects.all()
    }
    assert all(all(score >= 1 for score in scores) for scores in before.values())

    # when: the first client comes again and only that day is rolled up
    moment = datetime(2026, 4, 1, 4, tzinfo=UTC)
    Visit.objects.create(
        customer=clients[0], location=location, status=Visit.Status.COMPLETED, started_at=moment, total=50
    )
    rollups.rebuild_days({(location.pk, date(2026, 4, 1))}, as_of=AS_OF)

    # then: their figures count the visit, their scores are the last nightly ones (not 0)
    figures = CustomerMetrics.objects.get(customer=clients[0])
    assert figures.visits == 2
    assert (figures.recency_score, figures.frequency_score, figures.monetary_score) == before[clients[0].pk]


@pytest.mark.postgres
def test_the_generation_answers_while_a_rebuild_holds_the_roll_ups():
    """The nightly rebuild TRUNCATEs the roll-ups inside its transaction (readers of them wait
    until it commits, ~2 minutes at a million clients). The generation is read from RollupState
    alone, so pages cached from the previous roll-ups are still served meanwhile."""
    import psycopg2
    from django.db import OperationalError, transaction

    from analytics.models import DailyStats, RollupState

    RollupState.objects.create(pk=1, generation=7)  # rolled up seven times before
    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"], port=settings["PORT"] or 5432
    )
    try:
        with other.cursor() as cursor:  # the rebuild, mid-way
            cursor.execute("SET lock_timeout = '5s'")
            cursor.execute("TRUNCATE analytics_dailystats, analytics_visitday, analytics_customermetrics")
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = '2s'")
        assert rollups.generation(clients=True)[0].endswith(":7")  # answered at once
        with pytest.raises(OperationalError), transaction.atomic():  # a roll-up table itself waits
            DailyStats.objects.count()
    finally:
        other.rollback()
        other.close()
