"""Monthly cohorts, tiers and the lists behind them (analytics.cohorts), the funnel's and the
90-day revisit tile's drill-downs, the client list's class filter (customers.list_filters, as
analytics registers it) and the dashboard as the managers' and owners' home page.

Cohort figures are checked against a computation from the visits themselves (the first visit
by its start, the visit days as local dates) on the random histories of test_rollups, for past
and later "so far" days and for each location."""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import home
from analytics import cohorts, dashboard, list_filter, metrics, rollups
from analytics.dashboard import Period
from analytics.models import CustomerMetrics
from analytics.segments import classify
from appointments.models import Visit
from customers import list_filters
from customers.models import AccessLog
from loyalty.models import LoyaltyAccount, MembershipTier
from tests.analytics.test_dashboard import history as dashboard_history  # noqa: F401 (a fixture)
from tests.analytics.test_dashboard import today, visit
from tests.analytics.test_rollups import AS_OF, _history
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
CLIENTS = "/dashboard/clients/"
LATER = date(2026, 12, 31)


# ---- the cohorts against the visits ---------------------------------------------------------


def _raw(locations, last: date) -> dict:
    """{month: (members, came back by last, came back within 90 days)} from the visits."""
    visits = defaultdict(list)
    for v in Visit.objects.filter(status=Visit.Status.COMPLETED).select_related("location"):
        visits[v.customer_id].append(v)
    found: dict = defaultdict(lambda: (set(), set(), set()))
    for customer_id, vs in visits.items():
        first = min(vs, key=lambda v: (v.started_at, v.pk))
        first_day = timezone.localtime(first.started_at, first.location.tz).date()
        if first_day > last or (locations is not None and first.location_id not in locations):
            continue
        days = sorted({timezone.localtime(v.started_at, v.location.tz).date() for v in vs})
        members, back, within = found[first_day.strftime("%Y-%m")]
        members.add(customer_id)
        later = [d for d in days if first_day < d <= last]
        if later:
            back.add(customer_id)
        if any((d - first_day).days <= 90 for d in later):
            within.add(customer_id)
    return found


def _ids(rows) -> set[int]:
    return {r["customer_id"] for r in rows}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cohorts_equal_the_visits_and_their_lists_hold_exactly_those_clients(seed, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 12, 1, 4, 0, tzinfo=UTC))
    locations = _history(seed)
    rollups.rebuild(as_of=AS_OF)
    checked = 0
    for last in (date(2026, 3, 15), date(2026, 5, 31), AS_OF, LATER):
        for where in (None, [locations[0]], [locations[1]]):
            ids = None if where is None else {loc.pk for loc in where}
            raw = _raw(ids, last)
            rows = cohorts.cohorts(where, last)
            assert len(rows) == 12 and rows[-1]["month"] == last.strftime("%Y-%m")
            period = Period(last - timedelta(days=29), last, LATER)
            for c in rows:
                members, back, within = raw.get(c["month"], (set(), set(), set()))
                assert (c["size"], c["repurchased"]) == (len(members), len(back)), (c, last, where)
                month_end = cohorts._month_end(date.fromisoformat(c["month"] + "-01"))
                assert c["ready"] == (month_end <= last - timedelta(days=90))
                assert c["revisited"] == (len(within) if c["ready"] else None)
                if c["size"]:
                    assert c["repurchase_rate"] == round(len(back) / len(members), 4)
                    checked += 1
                for metric, expected in (
                    ("cohort", members),
                    ("cohort_repurchased", back),
                    ("cohort_revisited", within),
                ):
                    d = cohorts.drill(metric, {"cohort": c["month"]}, locations=where, period=period)
                    if metric == "cohort_revisited" and not c["ready"]:
                        assert "not 90 days old yet" in d.error
                        continue
                    assert not d.error and _ids(d.rows) == expected, (metric, c["month"], last)
    assert checked > 10


def test_a_cohort_counts_only_the_first_visits_at_the_locations_asked_for(location, other_location):
    # given: one client first seen at the other location, then at this one
    c = CustomerFactory()
    visit(c, other_location, date(2026, 3, 2), "100")
    visit(c, location, date(2026, 3, 20), "100")
    rollups.rebuild(as_of=LATER)
    # then: the other location's March cohort holds them, this location's none; the chain's one
    assert cohorts.cohorts([location], LATER)[-10]["month"] == "2026-03"
    assert cohorts.cohorts([location], LATER)[-10]["size"] == 0
    assert cohorts.cohorts([other_location], LATER)[-10]["size"] == 1
    assert cohorts.cohorts(None, LATER)[-10]["repurchased"] == 1


def test_the_cohorts_are_one_query(location):
    rollups.rebuild(as_of=LATER)
    with CaptureQueriesContext(connection) as ctx:
        cohorts.cohorts([location], LATER)
    assert len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"]
    assert "appointments_visit" not in sql and "analytics_visitday" not in sql
    # PostgreSQL: a row per first-visit day (analytics.snapshots); SQLite: the client figures grouped
    assert ("analytics_firstvisitday" in sql) == (connection.vendor == "postgresql")


def _cohorts_from_the_client_figures(first, last, ids) -> dict:
    qs = CustomerMetrics.objects.filter(first_day__gte=first, first_day__lte=last)
    if ids is not None:
        qs = qs.filter(first_location__in=ids)
    found = {}
    for m in qs:
        r = found.setdefault(m.first_day.replace(day=1), {"size": 0, "repurchased": 0, "revisited": 0})
        back_by = min(last, m.first_day + timedelta(days=90))
        r["size"] += 1
        r["repurchased"] += m.second_day is not None and m.second_day <= last
        r["revisited"] += m.second_day is not None and m.second_day <= back_by
    return found


def test_the_cohorts_from_the_first_visit_days_equal_those_from_the_client_figures(location, other_location):
    """snapshots.cohort_counts and newcomers give CustomerMetrics' counts on a varied history
    (second visits 0, 1, 30, 89, 90, 91 and 200 days on; two locations; windows ending before
    some second visits)."""
    from analytics import snapshots

    rng = random.Random(4)
    for i in range(40):
        c = CustomerFactory()
        day = LATER - timedelta(days=rng.randint(0, 500))
        for _ in range(rng.randint(1, 4)):
            if day <= LATER:
                visit(c, [location, other_location][i % 2], day, "80")
            day += timedelta(days=rng.choice([0, 1, 30, 89, 90, 91, 200]))
    rollups.rebuild(as_of=LATER)
    if connection.vendor != "postgresql":
        assert snapshots.cohort_counts(first=date(2025, 1, 1), last=LATER, location_ids=None) is None
        return
    for last in (LATER, LATER - timedelta(days=45), LATER - timedelta(days=200)):
        first = date(last.year - 1, last.month, 1)
        for where in (None, [location], [location, other_location]):
            ids = None if where is None else [x.pk for x in where]
            fast = snapshots.cohort_counts(first=first, last=last, location_ids=ids)
            assert fast == _cohorts_from_the_client_figures(first, last, ids), (last, where)
            for as_of in (last, last + timedelta(days=100)):
                expected = rollups._newcomers(start=first, last=last, locations=where, as_of=as_of)
                assert snapshots.newcomers(start=first, last=last, location_ids=ids, as_of=as_of) == expected


# ---- tiers ----------------------------------------------------------------------------------


@pytest.fixture
def tiers(location, other_location):
    silver = MembershipTier.objects.create(name="银卡", rank=1)
    gold = MembershipTier.objects.create(name="金卡", rank=2)
    MembershipTier.objects.create(name="旧卡", rank=3, active=False)  # no one holds it: not shown
    a = CustomerFactory(home_location=location)
    b = CustomerFactory(home_location=other_location)
    c = CustomerFactory(home_location=None)  # no home: where they first came (here)
    visit(c, location, date(2026, 3, 2), "100")
    d = CustomerFactory(home_location=None)  # no home, never came: the chain's only
    e = CustomerFactory(home_location=location)  # no loyalty account
    f = CustomerFactory(home_location=location, erased_at=timezone.now())  # erased: nowhere
    for client, tier in ((a, gold), (b, silver), (c, gold), (d, silver), (f, gold)):
        LoyaltyAccount.objects.create(customer=client, tier=tier)
    rollups.rebuild(as_of=LATER)
    return {"silver": silver, "gold": gold, "a": a, "b": b, "c": c, "d": d, "e": e}


def test_clients_per_tier_at_the_locations_and_their_lists(tiers, location, other_location):
    def counts(where):
        return {t["label"]: t["count"] for t in cohorts.tiers(where)}

    assert counts([location]) == {"银卡": 0, "金卡": 2, "No tier": 1}
    assert counts([other_location]) == {"银卡": 1, "金卡": 0, "No tier": 0}
    assert counts(None) == {"银卡": 2, "金卡": 2, "No tier": 1}
    period = Period(LATER, LATER, LATER)
    gold = cohorts.drill("tier", {"tier": str(tiers["gold"].pk)}, locations=[location], period=period)
    assert _ids(gold.rows) == {tiers["a"].pk, tiers["c"].pk} and gold.rows.count() == 2
    row = next(r for r in gold.rows[0:10] if r["customer_id"] == tiers["c"].pk)
    assert (row["visits"], row["days"], row["revenue"]) == (1, 1, Decimal("100.00"))
    none = cohorts.drill("tier", {"tier": "none"}, locations=None, period=period)
    assert _ids(none.rows) == {tiers["e"].pk}
    assert next(iter(none.rows))["visits"] == 0
    for wrong in ("", "abc", "999999", "1" * 30, "-1"):
        assert cohorts.drill("tier", {"tier": wrong}, locations=None, period=period).error


# ---- the funnel's and the revisit tile's drill-downs -------------------------------------------


@pytest.mark.usefixtures("dashboard_history")
def test_each_funnel_stage_lists_its_clients(client_as, manager, location):
    t = today()
    response = client_as(manager).get("/dashboard/")
    funnel = {s["stage"]: s["count"] for s in response.context["funnel"]}
    html = response.content.decode()
    reference = metrics._stages_in_python(metrics._population(t, [location]).values("pk"), t)
    for stage in metrics.STAGES:
        assert f"?metric=stage_{stage}&amp;location={location.pk}" in html
        listed = client_as(manager).get(CLIENTS, {"metric": f"stage_{stage}"})
        assert listed.status_code == 200
        assert listed.context["page"].paginator.count == funnel[stage]
        ids = {r["customer_id"] for r in listed.context["rows"]}
        assert ids == {pk for pk, s in reference.items() if s == stage}, stage
    assert funnel["new"] == 3  # newbie, again and gone (first seen 45 days ago)


def test_the_90_day_revisit_tile_opens_the_clients_who_came_back(client_as, owner, location):
    t = today()
    back, once = CustomerFactory(), CustomerFactory()
    visit(back, location, t - timedelta(days=110), "100")
    visit(back, location, t - timedelta(days=80), "100")
    visit(once, location, t - timedelta(days=100), "100")
    rollups.rebuild()
    query = {"location": location.pk, "start": (t - timedelta(days=119)).isoformat()}
    tiles = {x["key"]: x for x in client_as(owner).get("/dashboard/", query).context["tiles"]}
    assert tiles["revisit_90d"]["value"] == 0.5 and tiles["revisit_90d"]["drill"] == "revisit"
    listed = client_as(owner).get(CLIENTS, {**query, "metric": "revisit"})
    assert [r["customer_id"] for r in listed.context["rows"]] == [back.pk]


# ---- the dashboard section and the list pages ---------------------------------------------------


@pytest.mark.usefixtures("dashboard_history")
def test_the_dashboard_shows_the_cohorts_and_tiers_linked_to_their_clients(
    client_as,
    manager,
    location,
    django_assert_max_num_queries,
):
    client = client_as(manager)
    client.get("/dashboard/")  # the login's own queries
    # session, user, 2 permissions, staff, 2 locations, the summary (and the previous), the
    # trend, the funnel, the breakdowns, and 3 here: cohorts, clients per tier, the tiers
    with django_assert_max_num_queries(22):
        response = client.get("/dashboard/")
    html = response.content.decode()
    section = response.context["cohorts"]
    assert [c["month"] for c in section["cohorts"]][-1] == today().strftime("%Y-%m")
    assert section["cohorts"][-1]["ready"] is False and "not 90 days yet" in html
    current = next(c for c in reversed(section["cohorts"]) if c["size"])  # newbie's, again's, gone's
    month = current["month"]
    assert f"?metric=cohort&amp;cohort={month}&amp;location={location.pk}" in html
    assert 'id="cohorts-table"' in html and 'id="tiers-table"' in html
    assert '<script id="cohorts-data" type="application/json">' in html
    assert '<script src="/static/js/dashboard_cohorts.js" defer></script>' in html
    listed = client_as(manager).get(CLIENTS, {"metric": "cohort", "cohort": month})
    assert listed.status_code == 200 and listed.context["page"].paginator.count == current["size"]
    assert month in listed.context["title"]
    assert f'name="cohort" value="{month}"' in listed.content.decode()  # kept by the filters form
    from tests.test_csp import offences

    assert offences(html) == [] and offences(listed.content.decode()) == []


def test_the_cohort_section_costs_the_same_queries_for_more_months_and_clients(
    client_as, owner, location, other_location
):
    def queries():
        rollups._set_generation()  # every section computed again: a cold page each time
        with CaptureQueriesContext(connection) as ctx:
            assert client_as(owner).get("/dashboard/", {"location": "all"}).status_code == 200
        return len(ctx.captured_queries)

    t = today()
    visit(CustomerFactory(), location, t, "50")  # one visit: the roll-ups exist (cached path)
    rollups.rebuild()
    queries()  # the login's own queries
    small = queries()
    for i in range(30):
        c = CustomerFactory()
        visit(c, [location, other_location][i % 2], t - timedelta(days=11 * i), "50")
        LoyaltyAccount.objects.create(
            customer=c,
            tier=MembershipTier.objects.get_or_create(rank=i % 3 + 1, defaults={"name": f"T{i}"})[0],
        )
    rollups.rebuild()
    assert queries() == small


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"metric": "cohort"}, "A cohort is a month written like 2026-03."),
        ({"metric": "cohort", "cohort": "garbage"}, "A cohort is a month written like 2026-03."),
        ({"metric": "cohort", "cohort": "2026-13"}, "A cohort is a month written like 2026-03."),
        ({"metric": "cohort_repurchased", "cohort": "0000-01"}, "A cohort is a month written like 2026-03."),
        ({"metric": "cohort", "cohort": "9999-12"}, "starts after"),
        ({"metric": "cohort_revisited", "cohort": "THIS"}, "not 90 days old yet"),
        ({"metric": "tier", "tier": "abc"}, "That membership tier does not exist."),
        ({"metric": "tier", "tier": "99999999"}, "That membership tier does not exist."),
        ({"metric": "tier"}, "That membership tier does not exist."),
    ],
)
@pytest.mark.usefixtures("dashboard_history")
def test_a_wrong_cohort_or_tier_is_a_400_that_says_why(client_as, manager, query, message):
    if query.get("cohort") == "THIS":
        query = {**query, "cohort": today().strftime("%Y-%m")}
    response = client_as(manager).get(CLIENTS, query)
    assert response.status_code == 400
    assert message in response.content.decode() and 'id="clients-error"' in response.content.decode()
    csv = client_as(manager).get(CLIENTS, {**query, "format": "csv"})
    assert csv.status_code == 400 and message in csv.content.decode()
    assert not AccessLog.objects.exists()


@pytest.mark.usefixtures("dashboard_history")
def test_a_cohort_csv_is_logged_with_its_month(client_as, manager):
    month = today().strftime("%Y-%m")
    response = client_as(manager).get(CLIENTS, {"metric": "cohort", "cohort": month, "format": "csv"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    log = AccessLog.objects.get()
    assert f"dashboard cohort-{month} csv: {len(lines) - 1} clients" in log.detail
    assert f"clients-cohort-{month}-" in response["Content-Disposition"]


# ---- the client list's class filter -------------------------------------------------------------


def _scored(r: int, f: int, m: int, visits_12m: int = 1, **kwargs):
    c = CustomerFactory(**kwargs)
    CustomerMetrics.objects.create(
        customer=c,
        first_day=date(2026, 1, 5),
        first_location_id=kwargs.get("home_location").pk if kwargs.get("home_location") else None,
        last_day=date(2026, 6, 1),
        visit_days=1,
        visits=visits_12m,
        revenue=Decimal("100"),
        visits_12m=visits_12m,
        revenue_12m=Decimal("100"),
        recency_score=r,
        frequency_score=f,
        monetary_score=m,
        as_of=date(2026, 6, 30),
    )
    return c


@pytest.fixture
def classed(location):
    rng = random.Random(7)
    clients = [
        _scored(r, f, rng.randint(1, 5), rng.choice([1, 6, 9]), home_location=location)
        for r in range(1, 6)
        for f in range(1, 6)
    ]
    clients.append(CustomerFactory())  # no visit: potential
    return clients


def _expected(value: str, clients) -> set[int]:
    out = set()
    for c in clients:
        cls = classify(CustomerMetrics.objects.filter(customer=c).first())
        group, key = value.split("-", 1)
        if cls is None:
            if value == "value-potential":
                out.add(c.pk)
            continue
        if {"segment": cls.segment, "value": cls.value, "frequency": cls.frequency, "spending": cls.spending}[
            group
        ] == key:
            out.add(c.pk)
    return out


def test_every_class_filter_lists_exactly_the_clients_of_that_class(client_as, reception, classed):
    values = list_filter.conditions()
    assert len(values) == 6 + 3 + 2 + 3
    for value in values:
        response = client_as(reception).get("/customers/", {"class": value})
        listed = {row["customer"].pk for row in response.context["rows"]}
        assert listed == _expected(value, classed), value
        assert response.context["page"].paginator.count == len(listed)
    html = client_as(reception).get("/customers/", {"class": "segment-champions"}).content.decode()
    assert 'id="client-filter-class"' in html and '<option value="segment-champions" selected>' in html


def test_the_class_filter_keeps_pagination_search_and_query_count(client_as, reception, location):
    for i in range(30):
        _scored(5, 5, 5, 9, home_location=location, name=f"冠军{i}")
    for i in range(5):
        _scored(1, 1, 1, home_location=location, name=f"沉睡{i}")

    def get(params):
        with CaptureQueriesContext(connection) as ctx:
            response = client_as(reception).get("/customers/", params)
        return response, len(ctx.captured_queries)

    get({})  # the login's own queries
    plain, n_plain = get({})
    champions, n_champions = get({"class": "segment-champions"})
    assert n_champions == n_plain
    assert champions.context["page"].paginator.count == 30 and len(champions.context["rows"]) == 25
    assert "?page=2&amp;class=segment-champions" in champions.content.decode()
    second, _n = get({"class": "segment-champions", "page": 2})
    assert len(second.context["rows"]) == 5
    found, _n = get({"q": "沉睡", "class": "segment-hibernating"})
    assert len(found.context["rows"]) == 5
    none, _n = get({"q": "沉睡", "class": "segment-champions"})
    assert none.context["rows"] == []


def test_a_wrong_class_shows_every_client_and_says_so(client_as, reception, classed):
    response = client_as(reception).get("/customers/", {"class": "nonsense<b>"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "“nonsense&lt;b&gt;” is not one of the choices of Client class" in html
    assert response.context["page"].paginator.count == len(classed)


def test_the_list_works_without_the_analytics_filter(client_as, reception, classed):
    item = {f.key: f for f in list_filters.list_filters()}["class"]
    list_filters.unregister("class")
    try:
        response = client_as(reception).get("/customers/", {"class": "segment-champions"})
        assert response.status_code == 200
        assert response.context["page"].paginator.count == len(classed)  # ignored
        assert 'id="client-filter-class"' not in response.content.decode()
    finally:
        list_filters.register(item)


# ---- the home page per role ---------------------------------------------------------------------


def test_managers_and_owners_land_on_the_dashboard_the_desk_on_today(
    client_as, manager, owner, reception, stylist
):
    for staff in (manager, owner):
        response = client_as(staff).get("/")
        assert response.status_code == 302 and response["Location"] == "/dashboard/"
        today_page = client_as(staff).get("/today/")
        assert today_page.status_code == 200 and today_page.templates[0].name == "accounts/home.html"
        nav = {i["key"]: i["url"] for i in today_page.context["nav_items"]}
        assert nav["today"] == "/today/" and nav["dashboard"] == "/dashboard/"
    for staff in (reception, stylist):
        response = client_as(staff).get("/")
        assert response.status_code == 200 and response.templates[0].name == "accounts/home.html"


def test_a_manager_without_the_dashboard_permission_stays_on_today(client_as, manager):
    manager.user.user_permissions.remove(*Permission.objects.filter(codename="view_dashboards"))
    for group in manager.user.groups.all():
        group.permissions.remove(*Permission.objects.filter(codename="view_dashboards"))
    assert client_as(manager).get("/").status_code == 200


def test_login_lands_on_the_home_page_and_next_still_wins(client, manager, settings):
    from tests.accounts.factories import PASSWORD

    settings.OTP_REQUIRED_ROLES = []
    response = client.post("/login/", {"username": "manager", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/" and response.status_code == 200
    client.logout()
    response = client.post("/login/?next=/customers/", {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert django_settings.LOGIN_REDIRECT_URL == "accounts:home"


def test_the_home_registry(manager):
    assert home.home_url_for(manager.user) == "/dashboard/"
    home.unregister_home(["manager"])
    try:
        assert home.home_url_for(manager.user) is None
    finally:
        home.register_home(["manager"], "analytics:dashboard", permission="accounts.view_dashboards")
    assert dashboard.DRILLS[:4] == dashboard.PERIOD_DRILLS


def test_the_tier_counts_of_the_refresh_are_read_only_under_their_marker(location, other_location):
    from analytics import snapshots

    gold = MembershipTier.objects.get_or_create(rank=1, defaults={"name": "Gold"})[0]
    for i in range(6):
        c = CustomerFactory(home_location=[location, None][i % 2])
        visit(c, [location, other_location][i % 3 % 2], today() - timedelta(days=i), "50")
        if i % 2:
            LoyaltyAccount.objects.create(customer=c, tier=gold)
    rollups.rebuild()
    _gen, marker = rollups.generation(clients=True)
    for where in (None, [location], [other_location], [location, other_location]):
        ids = None if where is None else [x.pk for x in where]
        live = cohorts._tier_counts(where)
        assert snapshots.tier_counts(ids, clients=marker) == live
        assert cohorts._tier_counts(where, clients=marker) == live
    assert snapshots.tier_counts(None, clients=marker + "x") is None  # a later tier change or client
    CustomerFactory()
    _gen, newer = rollups.generation(clients=True)
    assert newer != marker and snapshots.tier_counts(None, clients=newer) is None
