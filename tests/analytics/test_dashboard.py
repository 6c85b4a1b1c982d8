"""The manager dashboard (/dashboard/) and the clients behind its tiles (/dashboard/clients/):
who may open them, that every tile shows exactly metrics.summary (the period and the one before
it), that a tile's list of clients has as many rows as the tile says, that the CSV is logged and
spreadsheet-safe, that no period input is a 500, and that the page costs the same queries
however many locations and days there are."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.nav import items_for
from analytics import dashboard, metrics, rollups
from appointments.models import Appointment, AppointmentStatus, Visit
from customers.models import AccessLog
from customers.privacy import display_phone
from tests.accounts.factories import LocationFactory, StaffMemberFactory
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
CLIENTS = "/dashboard/clients/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return timezone.now().astimezone(SHANGHAI).date()


def visit(customer, location, day: date, total: str, *, hour: int = 11, voided: bool = False) -> Visit:
    when = datetime.combine(day, datetime.min.time(), ZoneInfo(location.time_zone)).replace(hour=hour)
    return Visit.objects.create(
        customer=customer,
        location=location,
        status=Visit.Status.VOIDED if voided else Visit.Status.COMPLETED,
        started_at=when,
        completed_at=when + timedelta(hours=1),
        subtotal=Decimal(total),
        total=Decimal(total),
    )


@pytest.fixture
def history(location, other_location):
    """Over the last 30 days at the home location: a regular (two days, one of them twice), a
    new client (once), a repeat new client (two days), a client of last period only, a voided
    visit, and a client at the other location; an appointment no-show and a cancelled one."""
    t = today()
    old = datetime(2024, 1, 1, 9, tzinfo=SHANGHAI)
    regular = CustomerFactory(name="老顾客", created_at=old)
    visit(regular, location, t - timedelta(days=200), "100")
    visit(regular, location, t - timedelta(days=40), "150")  # the previous period
    visit(regular, location, t - timedelta(days=10), "200")
    visit(regular, location, t - timedelta(days=10), "50", hour=15)  # same day: one visit day
    visit(regular, location, t - timedelta(days=3), "300")
    newbie = CustomerFactory(name="新顾客", created_at=old)
    visit(newbie, location, t - timedelta(days=5), "80")
    again = CustomerFactory(name="=HYPERLINK(1)", created_at=old)  # a formula for the CSV
    visit(again, location, t - timedelta(days=20), "120")
    visit(again, location, t - timedelta(days=2), "120")
    gone = CustomerFactory(name="上期顾客", created_at=old)
    visit(gone, location, t - timedelta(days=45), "90")
    voided = CustomerFactory(name="作废", created_at=old)
    visit(voided, location, t - timedelta(days=4), "500", voided=True)
    far = CustomerFactory(name="徐汇顾客", created_at=old)
    visit(far, other_location, t - timedelta(days=6), "70")
    for status in (AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED, AppointmentStatus.CANCELLED):
        start = datetime.combine(t - timedelta(days=7), datetime.min.time(), SHANGHAI).replace(hour=10)
        Appointment.objects.create(
            customer=regular, location=location, status=status, start=start, end=start + timedelta(hours=1)
        )
    rollups.rebuild()  # the tiles and the trend read the roll-ups (compute_analytics)
    return {"regular": regular, "newbie": newbie, "again": again, "gone": gone, "far": far}


def tiles_of(response) -> dict:
    return {t["key"]: t for t in response.context["tiles"]}


def period_of(days: int = 30) -> tuple[date, date]:
    t = today()
    return t - timedelta(days=days - 1), t


# ---- who may open it ------------------------------------------------------------------------


def test_manager_and_owner_open_the_dashboard(client_as, manager, owner, history):
    for staff in (manager, owner):
        response = client_as(staff).get(URL)
        assert response.status_code == 200
        assert response.templates[0].name == "analytics/dashboard.html"
        assert b'id="chart-trend"' in response.content and b'id="chart-funnel"' in response.content
        assert b'<script id="dashboard-data" type="application/json">' in response.content


def test_reception_and_stylist_are_refused(client_as, reception, stylist, history):
    for staff in (reception, stylist):
        for url in (URL, CLIENTS, CLIENTS + "?format=csv"):
            assert client_as(staff).get(url).status_code == 403
    assert not AccessLog.objects.exists()


def test_anonymous_goes_to_the_login_page(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_header_links_managers_and_owners_only(manager, owner, reception, stylist):
    assert "dashboard" in [i["key"] for i in items_for(manager.user)]
    assert "dashboard" in [i["key"] for i in items_for(owner.user)]
    assert "dashboard" not in [i["key"] for i in items_for(reception.user)]
    assert "dashboard" not in [i["key"] for i in items_for(stylist.user)]
    assert reverse("analytics:dashboard") == URL and reverse("analytics:clients") == CLIENTS


# ---- the tiles are metrics.summary ------------------------------------------------------------


def test_tiles_equal_the_summary_of_the_period_and_the_one_before(client_as, manager, location, history):
    start, end = period_of()
    response = client_as(manager).get(URL)
    tiles = tiles_of(response)
    now = metrics.summary(start=start, end=end, locations=[location], as_of=end)
    before = metrics.summary(
        start=start - timedelta(days=30), end=start - timedelta(days=1), locations=[location], as_of=end
    )
    for spec in dashboard.TILES:
        assert tiles[spec.key]["value"] == now[spec.key], spec.key
        assert tiles[spec.key]["previous"] == before[spec.key], spec.key
    # worked by hand: 6 counted visits (the voided one and the other location's left out)
    assert now["visits"] == 6 and now["revenue"] == Decimal("870.00")
    assert now["active_customers"] == 3 and now["new_customers"] == 2
    assert now["repurchase_rate"] == round(2 / 3, 4)
    assert before["visits"] == 2 and before["active_customers"] == 2
    assert tiles["visits"]["change"]["direction"] == "up"
    assert tiles["no_show_rate"]["value"] == 0.5
    assert tiles["csat"]["text"] == "—" and tiles["csat"]["responses"] == 0
    assert tiles["repurchase_rate"]["part"] == 2 and tiles["repurchase_rate"]["whole"] == 3
    html = response.content.decode()
    assert 'data-figure="revenue"' in html and "870.00" in html
    assert "▲" in html and "Up" in html  # the change has an arrow and words, not only a colour


def test_all_my_locations_and_the_owner_chain(client_as, owner, location, other_location, history):
    start, end = period_of()
    all_ = tiles_of(client_as(owner).get(URL, {"location": "all"}))
    chain = metrics.summary(start=start, end=end, locations=None, as_of=end)
    assert all_["visits"]["value"] == chain["visits"] == 7
    far = tiles_of(client_as(owner).get(URL, {"location": other_location.pk}))
    assert far["visits"]["value"] == 1


def test_a_manager_cannot_ask_for_another_location(client_as, manager, location, other_location, history):
    response = client_as(manager).get(URL, {"location": other_location.pk})
    assert response.status_code == 200
    assert response.context["filters"].locations == [location]  # their own, with the form's error
    assert b"dashboard-filters-errors" in response.content
    response = client_as(manager).get(CLIENTS, {"location": other_location.pk, "metric": "active"})
    assert history["far"].pk not in [r["customer_id"] for r in response.context["rows"]]


def test_a_chosen_period_and_the_trend_and_funnel(client_as, manager, location, history):
    t = today()
    start, end = t - timedelta(days=9), t
    response = client_as(manager).get(URL, {"start": start.isoformat(), "end": end.isoformat()})
    data = response.context["chart_data"]
    assert len(data["trend"]["labels"]) == 10 and data["trend"]["labels"][0] == start.isoformat()
    assert sum(data["trend"]["visits"]) == tiles_of(response)["visits"]["value"] == 3
    assert sum(data["trend"]["revenue"]) == 500.0
    life = metrics.lifecycle(as_of=end, locations=[location])
    assert data["funnel"]["counts"] == [life[s] for s in metrics.STAGES]
    assert 'id="trend-table"' in response.content.decode()
    assert 'id="funnel-table"' in response.content.decode()
    long = client_as(manager).get(URL, {"start": (t - timedelta(days=400)).isoformat()})
    assert long.context["trend"]["unit"] == "month"
    assert sum(long.context["chart_data"]["trend"]["visits"]) == tiles_of(long)["visits"]["value"]


# ---- the clients behind a tile ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "tile"),
    [("active", "active_customers"), ("new", "new_customers"), ("repurchase", "repurchase_rate")],
)
@pytest.mark.parametrize("scope", ["home", "all"])
def test_the_list_behind_a_tile_has_the_tiles_number(
    client_as, owner, location, history, metric, tile, scope
):
    query = {"location": "all" if scope == "all" else location.pk}
    tiles = tiles_of(client_as(owner).get(URL, query))
    response = client_as(owner).get(CLIENTS, {**query, "metric": metric})
    listed = response.context["page"].paginator.count
    expected = tiles[tile]["part"] if metric == "repurchase" else tiles[tile]["value"]
    assert listed == expected
    assert f'data-count="{listed}"' in response.content.decode()
    if metric == "repurchase":
        assert round(listed / tiles["active_customers"]["value"], 4) == tiles[tile]["value"]
    if metric == "active":
        assert sum(r["visits"] for r in response.context["rows"]) == tiles["visits"]["value"]


def test_the_tiles_link_to_their_lists(client_as, manager, location, history):
    html = client_as(manager).get(URL).content.decode()
    start, end = period_of()
    for metric in ("active", "new", "repurchase"):
        assert (
            f"/dashboard/clients/?metric={metric}&amp;location={location.pk}&amp;start={start}&amp;end={end}"
            in html
        )


def test_the_list_shows_names_linking_to_the_card_and_masked_phones(client_as, manager, location, history):
    response = client_as(manager).get(CLIENTS, {"metric": "new"})
    html = response.content.decode()
    assert {r["customer_id"] for r in response.context["rows"]} == {history["newbie"].pk, history["again"].pk}
    assert f'href="/customers/{history["newbie"].pk}/"' in html
    row = next(r for r in response.context["rows"] if r["customer_id"] == history["again"].pk)
    assert row["visits"] == 2 and row["days"] == 2 and row["revenue"] == Decimal("240.00")
    assert row["phone"] and row["phone"] == display_phone(manager.user, history["again"].phone)
    assert row["phone"] in html


def test_the_list_is_paginated(client_as, owner, location, settings):
    t = today()
    for i in range(55):
        visit(CustomerFactory(), location, t - timedelta(days=i % 20), "10")
    response = client_as(owner).get(CLIENTS, {"metric": "active", "location": location.pk})
    assert response.context["page"].paginator.count == 55 and len(response.context["rows"]) == 50
    second = client_as(owner).get(CLIENTS, {"metric": "active", "location": location.pk, "page": 2})
    assert len(second.context["rows"]) == 5
    assert client_as(owner).get(CLIENTS, {"page": "x"}).status_code == 200


def test_csv_is_logged_once_with_the_count_and_spreadsheet_safe(client_as, manager, location, history):
    response = client_as(manager).get(CLIENTS, {"metric": "active", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["Client number", "Client"]
    body = rows[1:]
    assert len(body) == 3
    names = {r[1] for r in body}
    assert "'=HYPERLINK(1)" in names and "=HYPERLINK(1)" not in names
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.EXPORT and log.user == manager.user and log.customer is None
    assert "3 clients" in log.detail and "active" in log.detail
    client_as(manager).get(CLIENTS, {"metric": "repurchase", "format": "csv"})
    assert AccessLog.objects.count() == 2
    assert "2 clients" in AccessLog.objects.order_by("-pk").first().detail
    again = next(r for r in body if r[0] == str(history["again"].pk))
    assert again[2] == display_phone(manager.user, history["again"].phone)
    assert again[3:] == ["2", "2", "240.00"]


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"start": "0001-01-01", "end": "9999-12-31"},
        {"start": "9999-12-31", "end": "9999-12-31"},
        {"start": "0001-01-01", "end": "0001-01-01"},
        {"start": "9999-12-31", "end": "0001-01-01"},
        {"start": "garbage", "end": "2026-13-45"},
        {"start": "2026-02-30"},
        {"location": "garbage"},
        {"location": "999999999999999999999"},
        {"location": ""},
        {"metric": "nonsense"},
        {"page": "-1"},
        {"format": "xlsx"},
    ],
)
def test_bad_period_input_is_never_a_500(client_as, manager, history, query):
    assert client_as(manager).get(URL, query).status_code == 200
    assert client_as(manager).get(CLIENTS, query).status_code == 200
    response = client_as(manager).get(CLIENTS, {**query, "format": "csv"})
    assert response.status_code == 200
    b"".join(response.streaming_content)


def test_a_wrong_day_falls_back_and_says_so(client_as, manager, history):
    response = client_as(manager).get(URL, {"start": "garbage"})
    start, end = period_of()
    assert (response.context["period"].start, response.context["period"].end) == (start, end)
    assert "showing the last 30 days" in response.content.decode()
    swapped = client_as(manager).get(URL, {"start": end.isoformat(), "end": start.isoformat()})
    assert (swapped.context["period"].start, swapped.context["period"].end) == (start, end)


# ---- the query count is constant --------------------------------------------------------------


def _queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params).status_code == 200
    return len(ctx.captured_queries)


def _spread(locations, days: int) -> None:
    t = today()
    for i in range(days):
        for loc in locations:
            visit(CustomerFactory(), loc, t - timedelta(days=i), "10")


def test_the_page_costs_the_same_queries_for_1_or_3_locations_and_10_or_60_days(client_as):
    locations = [LocationFactory(code=f"q{i}") for i in range(3)]
    owner = StaffMemberFactory(user__username="qowner", role="owner", locations=locations)
    client = client_as(owner)
    params = {"location": "all", "start": (today() - timedelta(days=89)).isoformat()}
    _spread(locations[:1], 10)
    rollups.rebuild()
    small = _queries(client, URL, params)
    clients_small = _queries(client, CLIENTS, {**params, "metric": "repurchase"})
    _spread(locations, 60)
    rollups.rebuild()
    large = _queries(client, URL, params)
    assert large == small
    assert _queries(client, CLIENTS, {**params, "metric": "repurchase"}) == clients_small
    one = _queries(client, URL, {**params, "location": locations[0].pk})
    assert one == large
    # 25, one for the churn model section (issue 14), and for an owner two for the banner of
    # unusual access to client files (issue 16: the stored alerts, the live count)
    assert large <= 28, large


def test_the_pages_hold_nothing_the_content_security_policy_blocks(client_as, manager, history):
    from tests.test_csp import offences

    for url in (URL, CLIENTS + "?metric=repurchase"):
        html = client_as(manager).get(url).content.decode()
        assert offences(html) == [], url
    html = client_as(manager).get(URL).content.decode()
    assert '<script src="/static/js/dashboard.js" defer></script>' in html
    assert "chartjs-4.6.1/chart.umd.min.js" in html
