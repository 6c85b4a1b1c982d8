"""The managers' loyalty reports (docs/loyalty.md, Reports): points liability, stored value by
location, package use (耗卡率) and the tiers, on /loyalty/reports/ and as CSV. The figures come
from sales through the real checkout (the `sell` fixture), so a wrong query fails on exact
numbers."""

import csv
import io
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from playwright.sync_api import expect

from appointments.services import PaymentIn, visit_checkout, visit_void
from loyalty import reports, services
from loyalty.models import LoyaltyAccount, MembershipTier, PackagePlan, PointsEntry
from loyalty.report_views import csv_text
from tests.appointments.factories import CustomerFactory
from tests.appointments.fixtures_core import DAY
from tests.axe import assert_no_serious_violations
from tests.browser import login
from tests.loyalty.conftest import package_line, topup

SHOTS = os.environ.get("SCREENSHOTS_DIR", "test-results")
D = Decimal


@pytest.fixture
def world(salon, sell, rules, plan, other_location, owner, manager):
    """Sales at both locations on DAY (2027-01-06, Asia/Shanghai), by the checkout:

    home (静安店): cut ¥200 cash (earns 200: lot A); top-up ¥1000 (+¥100 bonus); cut paid ¥200 from
    stored value (¥181.82 principal + ¥18.18 bonus; earns 200: lot B); Colour ×5 sold ¥2000
    (earns 2000: lot C) and one session used (¥400); cut paid 200 points + ¥198 cash (A gives its
    200; earns 198: lot D); Cut ×3 sold ¥1000 (earns 1000: lot E), two sessions used
    (¥333.33 each), the second voided.
    other (徐汇店): top-up ¥500 (+¥30 bonus); Colour ×5 sold ¥2000 (earns 2000: lot F).
    Off the desk: +500 points by the manager (lot G, last day DAY+10); lot D's last day moved to
    DAY+60; lot B's to DAY−1 and expired; ¥100 principal refunded (¥8.48 bonus forfeited).
    Lot A's earning moved to 23:30 on 31 December (Shanghai), lot C's to 00:30 on 1 January."""
    customer = salon.customer
    cut_plan = PackagePlan.objects.create(name="Cut ×3", sessions=3, price=D("1000.00"), validity_days=90)
    cut_plan.services.set([salon.cut])
    v1 = sell(pay=[("cash", "200.00")])
    sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    v3 = sell(pay=[("stored_value", "200.00")])
    v4 = sell(lines=[package_line(plan)], pay=[("card", "2000.00")])
    sell(service=salon.colour, pay=[("package", "680.00")])
    v6 = sell(pay=[("points", "2.00"), ("cash", "198.00")])
    v7 = sell(lines=[package_line(cut_plan)], pay=[("cash", "1000.00")])
    sell(pay=[("package", "200.00")])
    v9 = sell(pay=[("package", "200.00")])
    visit_void(visit=v9, by=manager.user, reason="wrong client")
    for lines, pay in ([topup("500.00")], ("cash", "500.00")), ([package_line(plan)], ("card", "2000.00")):
        visit_checkout(
            location=other_location,
            customer=customer,
            by=owner.user,
            lines=lines,
            payments=[PaymentIn(pay[0], D(pay[1]))],
        )
    services.points_adjust(customer=customer, points=500, reason="apology", by=manager.user)
    lot = {
        name: PointsEntry.objects.get(kind__in=["earn", "adjust"], **where)
        for name, where in {
            "A": {"visit": v1},
            "B": {"visit": v3},
            "C": {"visit": v4},
            "D": {"visit": v6},
            "E": {"visit": v7},
            "G": {"kind": "adjust"},
        }.items()
    }
    PointsEntry.objects.filter(pk=lot["G"].pk).update(expires_on=DAY + timedelta(days=10))
    PointsEntry.objects.filter(pk=lot["D"].pk).update(expires_on=DAY + timedelta(days=60))
    PointsEntry.objects.filter(pk=lot["B"].pk).update(expires_on=DAY - timedelta(days=1))
    services.points_expire(today=DAY)
    services.stored_value_refund(
        customer=customer, amount=D("100.00"), method="cash", reason="moving away", by=manager.user
    )
    tz = salon.location.tz
    PointsEntry.objects.filter(pk=lot["A"].pk).update(created_at=datetime(2026, 12, 31, 23, 30, tzinfo=tz))
    PointsEntry.objects.filter(pk=lot["C"].pk).update(created_at=datetime(2027, 1, 1, 0, 30, tzinfo=tz))
    return salon


JANUARY = {"start": "2027-01-01", "end": "2027-01-31"}


def _period(start: str, end: str, salon) -> reports.Period:
    return reports.Period(date.fromisoformat(start), date.fromisoformat(end), salon.location.tz)


def test_the_period_in_a_zone():
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    assert reports.Period.month_of(date(2024, 2, 10), shanghai) == reports.Period(
        date(2024, 2, 1), date(2024, 2, 29), shanghai
    )
    assert reports.Period.month_of(date(9999, 12, 31), shanghai).end == date(9999, 12, 31)
    january = reports.Period(date(2027, 1, 1), date(2027, 1, 31), shanghai).q("created_at")
    assert dict(january.children) == {
        "created_at__gte": datetime(2026, 12, 31, 16, 0, tzinfo=UTC),
        "created_at__lt": datetime(2027, 1, 31, 16, 0, tzinfo=UTC),
    }
    # open on a side a datetime cannot hold
    assert not reports.Period(date(1, 1, 1), date(9999, 12, 31), shanghai).q("created_at").children


# ---- the figures ------------------------------------------------------------------------------


def test_points_liability(world):
    p = reports.points_liability(period=_period("2027-01-01", "2027-01-31", world), today=DAY)
    # C 2000 + D 198 + E 1000 + F 2000 + G 500 (A spent, B expired) = the balance
    assert p.points == 5698 == LoyaltyAccount.objects.get().points
    assert (p.rate, p.value) == (100, D("56.98"))
    assert [(e.days, e.points, e.value) for e in p.expiring] == [(30, 500, D("5.00")), (90, 698, D("6.98"))]
    # A (31 December 23:30 in Shanghai, 15:30 UTC) is December's; C (1 January 00:30) January's
    assert (p.earned, p.redeemed, p.expired, p.adjusted, p.reversed) == (5398, 200, 200, 500, 0)
    december = reports.points_liability(period=_period("2026-12-01", "2026-12-31", world), today=DAY)
    assert (december.earned, december.redeemed, december.expired, december.points) == (200, 0, 0, 5698)


def test_stored_value_by_location_adds_up_to_the_balances(world, other_location):
    sv = reports.stored_value_liability(locations=None)
    assert [(r.location, r.principal, r.bonus, r.total) for r in sv.rows] == [
        ("徐汇店", D("500.00"), D("30.00"), D("530.00")),
        ("静安店", D("818.18"), D("81.82"), D("900.00")),
        ("—", D("-100.00"), D("-8.48"), D("-108.48")),  # the refund, at no location
    ]
    balances = LoyaltyAccount.objects.aggregate(p=Sum("principal"), b=Sum("bonus"))
    assert sv.complete and (sv.principal, sv.bonus) == (balances["p"], balances["b"]) == (
        D("1218.18"),
        D("103.34"),
    )
    mine = reports.stored_value_liability(locations=[world.location.pk])
    assert [(r.location, r.total) for r in mine.rows] == [("静安店", D("900.00"))]
    assert not mine.complete and (mine.principal, mine.bonus) == (D("818.18"), D("81.82"))


def test_package_use_and_the_use_rate(world, plan):
    use = reports.package_use(period=_period("2027-01-01", "2027-01-31", world), locations=None)
    rows = [
        (r.location, r.plan, r.packages_sold, r.sessions_sold, r.sessions_used, r.revenue, r.value_sold, r.value_used, r.use_rate)
        for r in use.rows
    ]  # fmt: skip
    assert rows == [
        ("徐汇店", "Colour ×5", 1, 5, 0, D("0.00"), D("2000.00"), D("0.00"), D("0.0")),
        ("静安店", "Colour ×5", 1, 5, 1, D("400.00"), D("2000.00"), D("400.00"), D("20.0")),
        # two sessions of ¥333.33, the second given back by a void
        ("静安店", "Cut ×3", 1, 3, 1, D("333.33"), D("1000.00"), D("333.33"), D("33.3")),
    ]
    t = use.total
    assert (t.packages_sold, t.sessions_sold, t.sessions_used, t.revenue, t.value_sold, t.value_used, t.use_rate) == (
        3, 13, 2, D("733.33"), D("5000.00"), D("733.33"), D("14.7"),
    )  # fmt: skip
    mine = reports.package_use(
        period=_period("2027-01-01", "2027-01-31", world), locations=[world.location.pk]
    )
    assert [r.location for r in mine.rows] == ["静安店", "静安店"]
    assert (mine.total.value_sold, mine.total.use_rate) == (D("3000.00"), D("24.4"))
    # the period counts sessions and revenue only; what was sold and used stays
    december = reports.package_use(period=_period("2026-12-01", "2026-12-31", world), locations=None)
    assert [(r.sessions_used, r.revenue, r.value_used) for r in december.rows] == [
        (0, D("0.00"), D("0.00")),
        (0, D("0.00"), D("400.00")),
        (0, D("0.00"), D("333.33")),
    ]


def test_tier_distribution(db):
    silver = MembershipTier.objects.create(name="Silver", rank=1, min_spend=D("1000"))
    gold = MembershipTier.objects.create(name="Gold", rank=2, min_spend=D("5000"))
    MembershipTier.objects.create(name="Platinum", rank=3, min_spend=D("20000"))
    MembershipTier.objects.create(name="Retired", rank=4, active=False)  # no one holds it: not listed
    old = MembershipTier.objects.create(name="Old", rank=0, active=False)
    for tier in (gold, gold, silver, old, None, None, None):
        LoyaltyAccount.objects.create(customer=CustomerFactory(), tier=tier)
    dist = reports.tier_distribution()
    assert [(r.tier, r.active, r.accounts, r.share) for r in dist.rows] == [
        ("Old", False, 1, D("14.3")),
        ("Silver", True, 1, D("14.3")),
        ("Gold", True, 2, D("28.6")),
        ("Platinum", True, 0, D("0.0")),
        ("", True, 3, D("42.9")),  # no tier
    ]
    assert dist.accounts == 7


def test_each_report_is_a_fixed_number_of_queries(world, django_assert_num_queries):
    period = _period("2027-01-01", "2027-01-31", world)
    # settings, balances, open lots, the period's movements
    with django_assert_num_queries(4):
        reports.points_liability(period=period, today=DAY)
    with django_assert_num_queries(1):  # entries grouped by location
        reports.stored_value_liability(locations=None)
    with django_assert_num_queries(2):  # packages grouped by location and plan; their ledger, likewise
        reports.package_use(period=period, locations=[world.location.pk])
    with django_assert_num_queries(2):  # tiers; accounts counted per tier
        reports.tier_distribution()


def test_the_page_costs_the_same_whatever_the_history(
    world, client_as, owner, sell, django_assert_num_queries
):
    client = client_as(owner)
    client.get(reverse("loyalty:reports"))  # warm: the session's first writes
    for _ in range(3):  # more clients' history: not one query more
        sell(pay=[("cash", "200.00")])
        sell(lines=[topup("1000.00")], pay=[("cash", "1000.00")])
    # 16: session, user, the user's and the groups' permissions, the current location; the
    # reports' 9 (settings, balances, open lots, the period's points, stored value by location,
    # packages, their ledger, tiers, accounts per tier); the header's locations and staff record
    with django_assert_num_queries(16):
        assert client.get(reverse("loyalty:reports"), JANUARY).status_code == 200


# ---- the page -----------------------------------------------------------------------------------


def test_the_page_shows_the_figures_to_the_owner(world, client_as, owner):
    response = client_as(owner).get(reverse("loyalty:reports"))  # the current month by default
    assert response.status_code == 200
    assert (response.context["period"].start, response.context["period"].end) == (
        date(2027, 1, 1),
        date(2027, 1, 31),
    )
    html = response.content.decode()
    assert '<td class="text-end">5,698</td><td class="text-end">56.98</td>' in html
    assert '<th scope="row">Chain total</th><td class="text-end">1,218.18</td>' in html
    assert '<th scope="row">—</th><td class="text-end">-100.00</td><td class="text-end">-8.48</td>' in html
    assert '<td class="text-end">33.3</td>' in html and "14.7" in html
    assert "2027-01-01 to 2027-01-31" in html


def test_a_manager_sees_points_chain_wide_and_money_of_their_locations(
    world, client_as, manager, other_location
):
    response = client_as(manager).get(reverse("loyalty:reports"), JANUARY)
    assert response.status_code == 200
    ctx = response.context
    assert ctx["points"].points == 5698  # chain-wide
    assert [r.location for r in ctx["stored_value"].rows] == ["静安店"]
    assert {r.location for r in ctx["packages"].rows} == {"静安店"}
    html = response.content.decode()
    assert "徐汇店" not in html and "Chain total" not in html and "Total of your locations" in html


@pytest.mark.parametrize(
    "query, error",
    [
        ({"start": "2027-13-01"}, "start"),
        ({"start": "yesterday", "end": "2027-01-31"}, "start"),
        ({"end": "10000-01-01"}, "end"),
        ({"start": "2027-02-01", "end": "2027-01-01"}, "__all__"),
    ],
)
def test_bad_dates_are_a_form_error(world, client_as, owner, query, error):
    response = client_as(owner).get(reverse("loyalty:reports"), query)
    assert response.status_code == 200
    assert error in response.context["form"].errors
    assert response.context["period"].start == date(2027, 1, 1)  # the current month instead
    assert 'id="report-period-errors"' in response.content.decode()
    assert client_as(owner).get(reverse("loyalty:report_csv", args=["points"]), query).status_code == 400


def test_the_first_and_last_years_do_not_crash(world, client_as, owner):
    client = client_as(owner)
    everything = {"start": "0001-01-01", "end": "9999-12-31"}
    response = client.get(reverse("loyalty:reports"), everything)
    assert response.status_code == 200 and not response.context["form"].errors
    assert response.context["points"].earned == 5598  # every earning, A's too
    for query in ({"start": "0001-01-01", "end": "0001-01-01"}, {"start": "9999-12-31", "end": "9999-12-31"}):
        response = client.get(reverse("loyalty:reports"), query)
        assert response.status_code == 200 and response.context["points"].earned == 0
    for name in ("points", "stored-value", "packages", "tiers"):
        assert client.get(reverse("loyalty:report_csv", args=[name]), everything).status_code == 200


def test_the_reports_are_the_managers(world, client_as, reception, stylist):
    for who in (reception, stylist):
        assert client_as(who).get(reverse("loyalty:reports")).status_code == 403
        assert client_as(who).get(reverse("loyalty:report_csv", args=["points"])).status_code == 403


def test_the_settings_page_links_to_the_reports(client_as, manager, reception):
    assert reverse("loyalty:reports") in client_as(manager).get(reverse("accounts:settings")).content.decode()
    assert (
        reverse("loyalty:reports")
        not in client_as(reception).get(reverse("accounts:settings")).content.decode()
    )


# ---- CSV ----------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.content
    assert raw.startswith("\ufeff".encode())  # BOM: Chinese Excel reads UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_exports(world, client_as, owner, manager):
    client = client_as(owner)
    url = lambda name: reverse("loyalty:report_csv", args=[name])  # noqa: E731
    response = client.get(url("points"), JANUARY)
    assert (
        response["Content-Disposition"] == 'attachment; filename="loyalty-points-2027-01-01_2027-01-31.csv"'
    )
    assert _csv(response) == [
        ["Figure", "Points", "Value (CNY)"],
        ["Points outstanding", "5698", "56.98"],
        ["Expiring within 30 days", "500", "5.00"],
        ["Expiring within 90 days", "698", "6.98"],
        ["Earned in the period", "5398", ""],
        ["Redeemed in the period", "200", ""],
        ["Expired in the period", "200", ""],
        ["Adjusted in the period (net)", "500", ""],
        ["Given back or taken back by voids (net)", "0", ""],
    ]
    assert _csv(client.get(url("stored-value"))) == [
        ["Location", "Principal (CNY)", "Bonus (CNY)", "Total (CNY)"],
        ["徐汇店", "500.00", "30.00", "530.00"],
        ["静安店", "818.18", "81.82", "900.00"],
        ["—", "-100.00", "-8.48", "-108.48"],  # numbers stay numbers
        ["Chain total", "1218.18", "103.34", "1321.52"],
    ]
    rows = _csv(client.get(url("packages"), JANUARY))
    assert rows[0][-1] == "Use rate (%)" and rows[2] == [
        "静安店", "Colour ×5", "1", "5", "1", "400.00", "2000.00", "400.00", "20.0",
    ]  # fmt: skip
    assert rows[-1] == ["Total", "", "3", "13", "2", "733.33", "5000.00", "733.33", "14.7"]
    assert _csv(client.get(url("tiers"))) == [
        ["Tier", "Accounts", "Share (%)"],
        ["No tier", "1", "100.0"],
        ["Total", "1", ""],
    ]
    # a manager's: their locations only
    assert [r[0] for r in _csv(client_as(manager).get(url("stored-value")))] == [
        "Location", "静安店", "Total of your locations",
    ]  # fmt: skip
    assert client.get(url("clients")).status_code == 404


def test_csv_in_chinese(world, client_as, owner):
    client = client_as(owner)
    client.cookies["django_language"] = "zh-hans"
    rows = _csv(client.get(reverse("loyalty:report_csv", args=["packages"]), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert rows[0][0] == "门店" and rows[0][-1] == "耗卡率 (%)"


def test_csv_cells_cannot_be_formulas(world, client_as, owner, plan):
    PackagePlan.objects.filter(pk=plan.pk).update(name='=HYPERLINK("http://x","y")')
    MembershipTier.objects.create(name="@SUM(1)", rank=1)
    MembershipTier.objects.create(name="-2+3", rank=2)
    MembershipTier.objects.create(name="\tTab", rank=3)
    client = client_as(owner)
    packages = _csv(client.get(reverse("loyalty:report_csv", args=["packages"])))
    assert packages[1][1] == '\'=HYPERLINK("http://x","y")'
    tiers = [r[0] for r in _csv(client.get(reverse("loyalty:report_csv", args=["tiers"])))]
    assert tiers[1:4] == ["'@SUM(1)", "'-2+3", "'\tTab"]
    assert csv_text(["a"], [["+1", "\rx", D("-1.00"), -3, None]]) == "\ufeffa\r\n'+1,\"'\nx\",-1.00,-3,\r\n"


# ---- in the browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_the_reports_page_in_the_browser(live_server, page, world, manager, owner, lang, settings):
    settings.OTP_REQUIRED_ROLES = []
    page.set_viewport_size({"width": 1366, "height": 900})
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/login/")
    if lang != "en":
        page.click(f"#language-switch [data-lang={lang}]")
        expect(page.locator("html")).to_have_attribute("lang", lang)
    login(page, live_server, "owner")
    page.goto(f"{live_server.url}/loyalty/reports/?start=2027-01-01&end=2027-01-31")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    sep = "," if lang == "en" else ""  # Django's number format of each language (zh_Hans: no grouping)
    expect(page.locator('#points-report tr[data-figure="outstanding"]')).to_contain_text(f"5{sep}698")
    expect(page.locator('#stored-value-report tr[data-location="total"]')).to_contain_text(f"1{sep}218.18")
    expect(page.locator('#packages-report tr[data-package-row="total"]')).to_contain_text("14.7")
    page.screenshot(path=f"{SHOTS}/loyalty-reports-{lang}.png", full_page=True)
    assert_no_serious_violations(page, f"loyalty-reports-{lang}")
    # a bad date is a form error on the page
    page.fill("#id_start", "2027-02-30")
    page.click("#report-period-show")
    expect(page.locator("#report-period-errors")).to_be_visible()
    assert_no_serious_violations(page, f"loyalty-reports-error-{lang}")
    # the CSV downloads
    with page.expect_download() as download:
        page.click("#csv-stored-value")
    assert download.value.suggested_filename == "loyalty-stored-value.csv"
