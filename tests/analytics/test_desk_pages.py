"""Issue 13, item 4: the desk's daily summary (/desk/summary/) and a stylist's "my stats"
(/my-stats/), every figure against a hand-built history at a Shanghai salon.

The history (DAY is a Tuesday; times are Shanghai's):

    v1  DAY 10:00    A  cut 200 (S) + tip 50 (S) + product 80 (no one)  total 330  cash 130 + WeChat 200
    v2  DAY 07:30    B  colour 680 (S2)                                   total 680  WeChat 680  (23:30 UTC the day before)
    v3  DAY 12:00    C  cut 1000 (S), voided                              total 1000 cash 1000
    v4  DAY 11:00    C  at the other location, cut 150 (S)                total 150  cash 150
    v5  DAY-1 23:30  B  cut 200 (S)                                       total 200  card 200
    v6  DAY+1 00:30  A  cut 180 (S) + product 60 (S2)                     total 240  alipay 240
    v7  DAY-30       A  cut 999 (S)                                       total 999  cash 999

Bookings: on DAY at the salon a no-show, two cancellations and a completed one (client D), a
no-show at the other location; on DAY+1 at the salon A at 09:00 (cut with S, colour with S2,
made DAY-3), B at 14:00 (cut with S, confirmed, made DAY-3), C cancelled (made DAY-3, cancelled
on DAY at 11:00), D at the other location (12:00); on DAY+2 D at the salon.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.access import SESSION_KEY
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    Payment,
    Visit,
    VisitLine,
)
from feedback.models import Survey
from tests.accounts.factories import StaffMemberFactory
from tests.appointments.factories import ServiceFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)
SUMMARY = reverse("analytics:daily_summary")
STATS = reverse("analytics:my_stats")


class World:
    def __init__(self, location, other_location, stylist, other_stylist):
        self.location, self.other = location, other_location
        self.s, self.s2 = stylist, other_stylist
        self.cut = ServiceFactory(name="Cut", price=Decimal("200.00"), locations=[location, other_location])
        self.colour = ServiceFactory(name="Colour", price=Decimal("680.00"), locations=[location])
        self.a = CustomerFactory(name="Anna 张三")
        self.b = CustomerFactory(name="Bo 李四")
        self.c = CustomerFactory(name="Cai 王五")
        self.d = CustomerFactory(name="Du 赵六")

    def at(self, day: date, hour: int, minute: int = 0, location=None) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=(location or self.location).tz)

    def visit(self, customer, started_at, lines, payments, *, location=None, voided=False) -> Visit:
        total = sum((amount for _kind, amount, _staff in lines), Decimal("0"))
        visit = Visit.objects.create(
            customer=customer,
            location=location or self.location,
            started_at=started_at,
            completed_at=started_at + timedelta(hours=1),
            subtotal=total,
            total=total,
            status=Visit.Status.VOIDED if voided else Visit.Status.COMPLETED,
        )
        for kind, amount, staff in lines:
            VisitLine.objects.create(
                visit=visit,
                kind=kind,
                service=self.cut if kind == "service" else None,
                staff=staff,
                description=kind,
                unit_price=amount,
                amount=amount,
            )
        for method, amount in payments:
            Payment.objects.create(visit=visit, method=method, amount=amount)
        return visit

    def booking(self, customer, start, status, items, *, location=None, made=None, cancelled=None):
        appointment = Appointment.objects.create(
            customer=customer,
            location=location or self.location,
            status=status,
            start=start,
            end=start + timedelta(hours=len(items)),
            created_at=made or start - timedelta(days=7),
            cancelled_at=cancelled,
        )
        for n, (service, staff) in enumerate(items):
            begin = start + timedelta(hours=n)
            AppointmentItem.objects.create(
                appointment=appointment,
                service=service,
                staff=staff,
                start=begin,
                end=begin + timedelta(hours=1),
                busy_until=begin + timedelta(hours=1),
                price=service.price,
                is_active=status not in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW),
            )
        return appointment

    def survey(self, visit, staff, csat=None, nps=None, rating=None, answered=True) -> Survey:
        moment = visit.started_at + timedelta(hours=2)
        return Survey.objects.create(
            visit=visit,
            customer=visit.customer,
            location=visit.location,
            staff=staff,
            nonce="n",
            created_at=moment,
            send_at=moment,
            expires_at=moment + timedelta(days=7),
            answered_at=moment if answered else None,
            csat=csat,
            nps=nps,
            stylist_rating=rating,
        )


@pytest.fixture
def world(location, other_location, stylist, other_stylist) -> World:
    w = World(location, other_location, stylist, other_stylist)
    s, s2 = stylist, other_stylist
    before = DAY - timedelta(days=1)
    after = DAY + timedelta(days=1)
    w.v1 = w.visit(
        w.a,
        w.at(DAY, 10),
        [("service", Decimal("200"), s), ("tip", Decimal("50"), s), ("product", Decimal("80"), None)],
        [("cash", Decimal("130")), ("wechat_pay", Decimal("200"))],
    )
    w.v2 = w.visit(w.b, w.at(DAY, 7, 30), [("service", Decimal("680"), s2)], [("wechat_pay", Decimal("680"))])
    w.v3 = w.visit(
        w.c, w.at(DAY, 12), [("service", Decimal("1000"), s)], [("cash", Decimal("1000"))], voided=True
    )
    w.v4 = w.visit(
        w.c,
        w.at(DAY, 11, location=other_location),
        [("service", Decimal("150"), s)],
        [("cash", Decimal("150"))],
        location=other_location,
    )
    w.v5 = w.visit(w.b, w.at(before, 23, 30), [("service", Decimal("200"), s)], [("card", Decimal("200"))])
    w.v6 = w.visit(
        w.a,
        w.at(after, 0, 30),
        [("service", Decimal("180"), s), ("product", Decimal("60"), s2)],
        [("alipay", Decimal("240"))],
    )
    w.v7 = w.visit(w.a, w.at(DAY - timedelta(days=30), 15), [("service", Decimal("999"), s)], [])
    # the day's bookings (client D, so they are no one's rebooking)
    S = AppointmentStatus
    w.booking(w.d, w.at(DAY, 9), S.NO_SHOW, [(w.cut, s)])
    w.booking(w.d, w.at(DAY, 13), S.CANCELLED, [(w.cut, s)], cancelled=w.at(DAY, 8))
    w.booking(w.d, w.at(DAY, 15), S.CANCELLED, [(w.cut, s2)], cancelled=w.at(DAY, 8))
    w.booking(w.d, w.at(DAY, 17), S.COMPLETED, [(w.cut, s)])
    w.booking(w.d, w.at(DAY, 9, location=other_location), S.NO_SHOW, [(w.cut, s2)], location=other_location)
    made = w.at(DAY - timedelta(days=3), 12)
    w.tomorrow_a = w.booking(w.a, w.at(after, 9), S.BOOKED, [(w.cut, s), (w.colour, s2)], made=made)
    w.tomorrow_b = w.booking(w.b, w.at(after, 14), S.CONFIRMED, [(w.cut, s)], made=made)
    w.booking(w.c, w.at(after, 16), S.CANCELLED, [(w.cut, s)], made=made, cancelled=w.at(DAY, 11))
    w.booking(w.d, w.at(after, 12, location=other_location), S.BOOKED, [(w.cut, s2)], location=other_location)
    w.booking(w.d, w.at(DAY + timedelta(days=2), 10), S.BOOKED, [(w.cut, s)])
    # surveys
    w.survey(w.v1, s, csat=5, nps=10, rating=5)
    w.survey(w.v5, s, csat=3, nps=6, rating=4)
    w.survey(w.v6, s, answered=False)
    w.survey(w.v3, s, csat=1, nps=0, rating=1)  # a voided visit's
    w.survey(w.v2, s2, csat=1, nps=0, rating=1)  # the other stylist's
    w.survey(w.v7, s, csat=1, nps=0, rating=1)  # before the period
    return w


def _get(client, url, **params):
    return client.get(url, params)


# ---- the daily summary --------------------------------------------------------------------------


def test_the_day_at_the_salon_by_hand(client_as, reception, world):
    response = _get(client_as(reception), SUMMARY, date=DAY.isoformat())
    assert response.status_code == 200
    s = response.context["summary"]
    assert s.day == DAY and s.tomorrow == DAY + timedelta(days=1)
    # v1 + v2 (v2 is 23:30 UTC the day before); not the voided v3, the other location's v4,
    # v5 (23:30 the evening before) nor v6 (00:30 the morning after)
    assert s.visits == 2
    assert s.revenue == Decimal("1010.00")
    assert [(r["method"], r["count"], r["amount"]) for r in s.takings] == [
        ("wechat_pay", 2, Decimal("880.00")),
        ("cash", 1, Decimal("130.00")),
    ]
    assert [str(r["label"]) for r in s.takings] == ["WeChat Pay", "Cash"]
    assert s.takings_total == Decimal("1010.00")
    assert s.tips == Decimal("50.00")
    assert s.no_shows == 1 and s.cancellations == 2
    assert [a.pk for a in s.bookings_tomorrow] == [world.tomorrow_a.pk, world.tomorrow_b.pk]
    first = s.bookings_tomorrow[0]
    assert first.service_names == ["Cut", "Colour"]
    assert first.staff_names == [world.s.display_name, world.s2.display_name]
    html = response.content.decode()
    assert "1,010.00" in html and "880.00" in html and "130.00" in html
    assert "09:00" in html and "14:00" in html and "Anna 张三" in html and "Bo 李四" in html
    assert "Cai 王五" not in html  # cancelled
    assert 'data-print id="summary-print"' in html


def test_an_empty_day_says_so(client_as, reception, world):
    s = _get(client_as(reception), SUMMARY, date="2026-05-01").context["summary"]
    assert (s.visits, s.revenue, s.tips, s.takings, s.no_shows, s.cancellations) == (
        0,
        Decimal("0.00"),
        Decimal("0.00"),
        [],
        0,
        0,
    )
    assert s.bookings_tomorrow == []


def test_the_default_day_is_today_at_the_salon(client_as, reception, world, monkeypatch):
    # 23:30 UTC on DAY-1 is 07:30 on DAY in Shanghai
    moment = datetime.combine(DAY - timedelta(days=1), time(23, 30), tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    response = client_as(reception).get(SUMMARY)
    assert response.context["summary"].day == DAY
    assert response.context["summary"].visits == 2


def test_the_desk_sees_only_its_own_location_the_owner_the_one_chosen(
    client_as, reception, owner, world, other_location
):
    desk = client_as(reception)
    session = desk.session
    session[SESSION_KEY] = other_location.pk  # not theirs: the page keeps to their own
    session.save()
    s = _get(desk, SUMMARY, date=DAY.isoformat()).context["summary"]
    assert s.revenue == Decimal("1010.00")
    boss = client_as(owner)
    session = boss.session
    session[SESSION_KEY] = other_location.pk
    session.save()
    response = _get(boss, SUMMARY, date=DAY.isoformat(), location=world.location.pk)
    s = response.context["summary"]
    assert (s.visits, s.revenue, s.no_shows) == (1, Decimal("150.00"), 1)
    assert [str(r["label"]) for r in s.takings] == ["Cash"]
    assert len(s.bookings_tomorrow) == 1


@pytest.mark.parametrize("who,status", [("stylist", 403), ("reception", 200), ("manager", 200)])
def test_who_opens_the_daily_summary(client_as, world, who, status, request):
    staff = request.getfixturevalue(who)
    assert client_as(staff).get(SUMMARY).status_code == status


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(SUMMARY)
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.get(STATS)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize(
    "value", ["0001-01-01", "9999-12-31", "garbage", "2026-02-30", "", "２０２６-03-10", "1899-12-31"]
)
def test_a_bad_date_falls_back_to_today(client_as, reception, world, value):
    response = client_as(reception).get(SUMMARY, {"date": value})
    assert response.status_code == 200
    today = timezone.now().astimezone(world.location.tz).date()
    assert response.context["summary"].day == today
    assert response.context["bad_date"] is bool(value)


def test_the_last_day_of_the_calendar_does_not_break(client_as, reception, world):
    assert client_as(reception).get(SUMMARY, {"date": "2999-12-31"}).status_code == 200
    assert client_as(reception).get(SUMMARY, {"date": "1900-01-01"}).status_code == 200


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def test_the_daily_summary_costs_the_same_for_2_or_10_visits(client_as, reception, world):
    desk = client_as(reception)
    params = {"date": DAY.isoformat()}
    desk.get(SUMMARY, params)  # warm the session and the permission caches
    few = _queries(desk, SUMMARY, params)
    for n in range(8):
        customer = CustomerFactory()
        world.visit(
            customer,
            world.at(DAY, 18, n * 5),
            [("service", Decimal("100"), world.s), ("tip", Decimal("5"), world.s)],
            [("cash", Decimal("60")), ("card", Decimal("45"))],
        )
        world.booking(
            customer,
            world.at(DAY + timedelta(days=1), 13 + n),
            AppointmentStatus.BOOKED,
            [(world.colour, world.s2)],
        )
    assert _queries(desk, SUMMARY, params) == few
    s = desk.get(SUMMARY, params).context["summary"]
    assert (s.visits, s.revenue, s.tips) == (10, Decimal("1850.00"), Decimal("90.00"))
    assert len(s.bookings_tomorrow) == 10


# ---- my stats ------------------------------------------------------------------------------------

PERIOD = {"start": (DAY - timedelta(days=5)).isoformat(), "end": (DAY + timedelta(days=5)).isoformat()}


def test_a_stylists_own_figures_by_hand(client_as, stylist, world):
    response = client_as(stylist).get(STATS, PERIOD)
    assert response.status_code == 200
    st = response.context["stats"]
    # v1 200 + 50 (tip), v4 150 (other location: still theirs), v5 200, v6 180; not v3 (voided),
    # not v7 (before the period), not the other stylist's lines
    assert st["revenue"] == Decimal("780.00")
    assert st["tips"] == Decimal("50.00")
    assert st["visits"] == 4
    assert st["clients"] == 3  # A (v1, v6), B (v5), C (v4)
    # v1: A holds DAY+1 09:00 (made DAY-3) → rebooked; v5: B holds DAY+1 14:00 → rebooked;
    # v6: A's DAY+1 booking is not a later day; v4: C's booking was cancelled on DAY itself
    assert (st["rebooked"], st["rebooking_rate"]) == (2, 0.5)
    scores = st["scores"]
    # v1 (5, 10, 5) and v5 (3, 6, 4); v6 unanswered and not sent; v3 voided, v7 before, v2 not theirs
    assert (scores["csat_n"], scores["csat"]) == (2, 0.5)
    assert (scores["nps_n"], scores["nps"]) == (2, 0.0)
    assert scores["stylist_avg"] == 4.5
    html = response.content.decode()
    assert "780.00" in html and "50.0%" in html and "4.5" in html
    assert "2 of 4 visits" in html


def test_a_stylist_cannot_ask_for_someone_else(client_as, stylist, other_stylist, world):
    st = client_as(stylist).get(STATS, {**PERIOD, "staff": other_stylist.pk}).context["stats"]
    assert st["revenue"] == Decimal("780.00")
    theirs = client_as(other_stylist).get(STATS, PERIOD).context["stats"]
    # v2 colour 680, v6 product 60; v2's survey (1, 0, 1)
    assert (theirs["revenue"], theirs["visits"], theirs["clients"]) == (Decimal("740.00"), 2, 2)
    # v2: B holds DAY+1 14:00 → rebooked; v6: no later booking
    assert theirs["rebooking_rate"] == 0.5
    assert (theirs["scores"]["csat"], theirs["scores"]["nps"]) == (0.0, -100.0)


def test_an_empty_period_shows_dashes_not_zero_rates(client_as, stylist, world):
    response = client_as(stylist).get(STATS, {"start": "2020-01-01", "end": "2020-01-31"})
    st = response.context["stats"]
    assert (st["revenue"], st["visits"], st["clients"], st["rebooking_rate"]) == (Decimal("0.00"), 0, 0, None)
    assert st["scores"]["csat"] is None and st["scores"]["nps"] is None
    assert "—" in response.content.decode()


def test_the_default_period_is_the_last_30_days(client_as, stylist, world, monkeypatch):
    moment = datetime.combine(DAY + timedelta(days=1), time(12), tzinfo=world.location.tz)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    st = client_as(stylist).get(STATS).context["stats"]
    assert (st["start"], st["end"]) == (DAY - timedelta(days=28), DAY + timedelta(days=1))
    assert st["revenue"] == Decimal("780.00")  # v7 (DAY-30) is out


def test_reversed_dates_are_swapped(client_as, stylist, world):
    st = client_as(stylist).get(STATS, {"start": PERIOD["end"], "end": PERIOD["start"]}).context["stats"]
    assert st["revenue"] == Decimal("780.00")


@pytest.mark.parametrize(
    "params",
    [
        {"start": "0001-01-01", "end": "9999-12-31"},
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"start": "garbage", "end": "2026-13-45"},
        {"start": "9999-12-31", "end": "0001-01-01"},
    ],
)
def test_bad_or_extreme_periods_never_fail(client_as, stylist, world, params):
    response = client_as(stylist).get(STATS, params)
    assert response.status_code == 200
    if params.get("start") == "garbage":
        assert "A day is written like" in response.content.decode()


def test_the_whole_calendar_counts_everything(client_as, stylist, world):
    st = client_as(stylist).get(STATS, {"start": "0001-01-01", "end": "9999-12-31"}).context["stats"]
    assert (st["revenue"], st["visits"]) == (Decimal("1779.00"), 5)  # v7 (999) too


@pytest.mark.parametrize("who", ["reception", "manager", "owner"])
def test_those_who_take_no_clients_have_no_stats(client_as, world, who, request):
    assert client_as(request.getfixturevalue(who)).get(STATS).status_code == 403


def test_a_manager_who_takes_clients_sees_their_own(client_as, location, world):
    boss = StaffMemberFactory(user__username="boss", role="manager", locations=[location], is_bookable=True)
    world.visit(world.d, world.at(DAY, 16), [("service", Decimal("300"), boss)], [("cash", Decimal("300"))])
    st = client_as(boss).get(STATS, PERIOD).context["stats"]
    assert (st["revenue"], st["visits"]) == (Decimal("300.00"), 1)


def test_my_stats_costs_the_same_for_2_or_10_visits(client_as, stylist, world):
    me = client_as(stylist)
    me.get(STATS, PERIOD)
    few = _queries(me, STATS, PERIOD)
    for n in range(8):
        customer = CustomerFactory()
        visit = world.visit(customer, world.at(DAY, 18, n * 5), [("service", Decimal("100"), world.s)], [])
        world.survey(visit, world.s, csat=4, nps=9, rating=5)
    assert _queries(me, STATS, PERIOD) == few
    assert me.get(STATS, PERIOD).context["stats"]["visits"] == 12


# ---- the Today page's links -----------------------------------------------------------------------


def test_the_today_page_links_to_what_each_may_open(client_as, reception, stylist, manager):
    home = reverse("accounts:home")
    desk = client_as(reception).get(home).content.decode()
    assert SUMMARY in desk and STATS not in desk
    mine = client_as(stylist).get(home).content.decode()
    assert STATS in mine and SUMMARY not in mine
