"""Issue 14, items 1, 3 and 4: the churn model inside compute_analytics (kept, the last good one
used when a fit fails, every client scored), its calibration (what the model of a quarter ago
predicted against what happened, on a simulated BG/NBD population), the two API endpoints, and
the at-risk list with its reasons and one-click call."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from analytics import at_risk, churn, clv, rollups
from analytics.lifecycle import EPOCH
from analytics.models import ChurnModel, ChurnScore
from appointments.models import Visit
from feedback.models import Complaint, FollowUp
from feedback.services import complaint_open
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return timezone.now().astimezone(SHANGHAI).date()


def visit(customer, location, day: date, total="100") -> Visit:
    when = datetime.combine(day, datetime.min.time(), ZoneInfo(location.time_zone)).replace(hour=11)
    return Visit.objects.create(
        customer=customer,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=when,
        completed_at=when + timedelta(hours=1),
        subtotal=Decimal(total),
        total=Decimal(total),
    )


def _population(location, other_location, *, seed: int = 3, n: int = 60):
    """Clients with a few visit days each over the last two years (some at the other location),
    spend varying by client."""
    rng = np.random.default_rng(seed)
    t = today()
    clients = []
    old = datetime(2023, 1, 1, 9, tzinfo=SHANGHAI)
    for i in range(n):
        c = CustomerFactory(name=f"客户{i}", created_at=old)
        start = t - timedelta(days=int(rng.integers(120, 700)))
        day = start
        for _ in range(int(rng.integers(1, 7))):
            if day > t:
                break
            visit(c, location if i % 4 else other_location, day, str(int(rng.integers(50, 400))))
            day += timedelta(days=int(rng.integers(10, 120)))
        clients.append(c)
    return clients


def test_compute_analytics_fits_keeps_the_model_and_scores_every_client(location, other_location):
    _population(location, other_location)
    result = rollups.rebuild()
    model = churn.current_model()
    assert model is not None and model.converged and result["churn_converged"]
    ids, summary = churn.summary_as_of(today())
    assert model.n_customers == len(ids) == result["churn_scores"] == ChurnScore.objects.count()
    expected = churn.score(model, summary)
    stored = {s.customer_id: s for s in ChurnScore.objects.all()}
    for i, pk in enumerate(ids):
        row = stored[int(pk)]
        assert row.p_alive == pytest.approx(expected.p_alive[i])
        assert row.expected_visits_90d == pytest.approx(expected.expected_visits_90d[i])
        assert row.clv_365d == pytest.approx(expected.clv_365d[i])
        assert row.value_at_risk == pytest.approx(expected.value_at_risk[i])
        assert row.as_of == today()
    # the same as one client's figures through the API's path
    one = at_risk.client_figures(ids_to_customer(ids[0]), as_of=today())
    assert one["p_alive"] == pytest.approx(expected.p_alive[0], abs=1e-4)
    # a second night warm-starts from the first fit and finds the same optimum
    rollups.rebuild()
    again = churn.current_model()
    assert again.pk != model.pk
    for name in ("r", "alpha", "a", "b"):
        assert getattr(again, name) == pytest.approx(getattr(model, name), rel=1e-3)


def ids_to_customer(pk):
    from customers.models import Customer

    return Customer.objects.get(pk=int(pk))


def test_a_fit_that_fails_keeps_the_last_good_model_and_says_so(
    location, other_location, client_as, owner, monkeypatch
):
    _population(location, other_location)
    rollups.rebuild()
    good = churn.current_model()
    before = {s.customer_id: s.p_alive for s in ChurnScore.objects.all()}

    def not_converging(summary, *, start=None):
        return clv.BGNBD(r=9.0, alpha=1.0, a=5.0, b=0.1, converged=False)

    monkeypatch.setattr(clv, "fit_bgnbd", not_converging)
    rollups.rebuild()
    failed = churn.latest_fit()
    assert not failed.converged and failed.note
    assert churn.current_model().pk == good.pk
    after = {s.customer_id: s.p_alive for s in ChurnScore.objects.all()}
    assert after == pytest.approx(before)  # scored with the last good model
    page = client_as(owner).get("/dashboard/")
    assert page.status_code == 200
    assert 'id="churn-failed"' in page.content.decode()
    api = client_as(owner).get("/api/v1/analytics/model/").json()
    assert api["as_of"] == good.as_of.isoformat() and api["latest_fit"]["converged"] is False
    assert api["r"] == pytest.approx(good.r)


def test_the_model_api(api_as, owner, manager, reception, location, other_location):
    assert api_as(owner).get("/api/v1/analytics/model/").status_code == 404  # nothing fitted yet
    _population(location, other_location)
    rollups.rebuild()
    answer = api_as(manager).get("/api/v1/analytics/model/")
    assert answer.status_code == 200
    data = answer.json()
    assert set(data) >= {"r", "alpha", "a", "b", "p", "q", "v", "time_unit", "as_of", "n_customers"}
    assert data["time_unit"] == "day" and data["latest_fit"] is None
    assert api_as(reception).get("/api/v1/analytics/model/").status_code == 403


# ---- calibration ----------------------------------------------------------------------------------


def _simulated_rows(rng, n, r, alpha, a, b, *, last_day: int):
    """BG/NBD clients whose first visit day is spread over the 300 days before day 400 (EPOCH
    days), followed until `last_day`: (client, day, revenue) rows of whole visit days."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    rows = []
    for i in range(n):
        t = float(rng.integers(100, 400))
        rows.append((i + 1, int(t), 100.0))
        while True:
            t += rng.exponential(1 / lam[i])
            if t > last_day:
                break
            rows.append((i + 1, int(t), float(rng.gamma(4, 25))))
            if rng.random() < p[i]:
                break
    out = np.array(rows, dtype=[("client", "i8"), ("day", "i4"), ("revenue", "f8")])
    return out


def test_the_calibration_of_a_simulated_population_holds_within_sampling_error():
    rng = np.random.default_rng(11)
    fitted_on = EPOCH + timedelta(days=400)
    until = fitted_on + timedelta(days=91)
    rows = _simulated_rows(rng, 6000, 0.9, 30.0, 0.7, 3.0, last_day=(until - EPOCH).days)
    _ids, summary = churn.summary_as_of(fitted_on, rows)
    fit = clv.fit_bgnbd(clv.compress(summary))
    model = ChurnModel(as_of=fitted_on, r=fit.r, alpha=fit.alpha, a=fit.a, b=fit.b, converged=True)
    result = churn.calibrate(model, rows, until)
    assert result["horizon_days"] == 91 and result["clients"] == 6000
    assert len(result["deciles"]) == 10
    total_error = np.sqrt(result["actual_visits"]) * 3 + 0.05 * result["actual_visits"]
    assert abs(result["predicted_visits"] - result["actual_visits"]) < total_error
    # per tenth: within 3 standard errors, give or take 5% (whole visit days: two visits on one
    # day are one, which the continuous model does not know)
    for d in result["deciles"]:
        assert abs(d["predicted"] - d["actual"]) < 3 * d["actual_se"] + 0.05 * d["predicted"] + 0.01, d
    for band in result["returning"]:  # a share: binomial error
        if band["clients"] >= 50:
            error = np.sqrt(band["predicted"] * (1 - band["predicted"]) / band["clients"])
            assert abs(band["predicted"] - band["observed"]) < 3 * error + 0.04, band


def test_compute_analytics_calibrates_the_model_of_a_quarter_ago(location, other_location, client_as, owner):
    _population(location, other_location, n=80)
    rollups.rebuild()
    fits = list(ChurnModel.objects.order_by("as_of"))
    assert [m.as_of for m in fits] == [today(), today() - timedelta(days=91)][::-1] or len(fits) == 2
    quarter = next(m for m in fits if m.as_of == today() - timedelta(days=91))
    cal = churn.latest_fit().calibration
    assert cal["model_id"] == quarter.pk and cal["horizon_days"] == 91
    assert sum(d["clients"] for d in cal["deciles"]) == cal["clients"]
    # the actual visit days are exactly those after the quarter-ago day
    after = Visit.objects.filter(started_at__date__gt=today() - timedelta(days=91)).values_list(
        "customer_id", "started_at__date"
    )
    firsts = {
        c: d
        for c, d in Visit.objects.order_by("started_at").values_list("customer_id", "started_at__date")[::-1]
    }
    counted = {(c, d) for c, d in after if firsts[c] <= today() - timedelta(days=91)}
    assert cal["actual_visits"] == len(counted)
    # a second night finds the kept quarter-ago fit instead of fitting again
    rollups.rebuild()
    assert ChurnModel.objects.filter(as_of=today() - timedelta(days=91)).count() == 1
    page = client_as(owner).get("/dashboard/").content.decode()
    assert 'id="churn-deciles"' in page and 'id="churn-returning"' in page


# ---- one client's figures and reasons ---------------------------------------------------------------


def test_a_clients_metrics_say_why_they_are_at_risk(api_as, reception, manager, location, other_location):
    _population(location, other_location)
    t = today()
    drifting = CustomerFactory(name="渐行渐远", created_at=datetime(2023, 1, 1, tzinfo=SHANGHAI))
    for days_ago in (400, 380, 360, 340, 250, 130):  # every 20 days, then 90, then 120
        visit(drifting, location, t - timedelta(days=days_ago))
    complaint_open(
        customer=drifting,
        location=location,
        category=Complaint.Category.SKILL,
        description="颜色不满意",
        by=manager.user,
    )
    rollups.rebuild()
    answer = api_as(reception).get(f"/api/v1/customers/{drifting.pk}/metrics/")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["stage"] == "dormant" and data["at_risk"] is True
    assert data["rfm"]["recency"] >= 1
    for key in ("p_alive", "expected_visits_90d", "expected_spend_per_visit", "clv_365d"):
        assert isinstance(data[key], float), key
    codes = {r["code"] for r in data["reasons"]}
    assert {"visits_spreading_out", "overdue"} <= codes
    assert "open_complaint" in codes
    assert all(r["text"] for r in data["reasons"])
    # a client with no visit: potential, no scores
    nobody = CustomerFactory()
    data = api_as(reception).get(f"/api/v1/customers/{nobody.pk}/metrics/").json()
    assert data["stage"] == "potential" and data["p_alive"] is None and data["reasons"] == []
    assert api_as(reception).get("/api/v1/customers/99999999/metrics/").status_code == 404
    bad = api_as(reception).get(f"/api/v1/customers/{nobody.pk}/metrics/?as_of=0000-01-01")
    assert bad.status_code == 400


# ---- the at-risk list -------------------------------------------------------------------------------


def test_the_at_risk_list(client_as, manager, owner, location, other_location):
    clients = _population(location, other_location, n=40)
    rollups.rebuild()
    page = client_as(owner).get(reverse("analytics:at_risk") + "?location=all&below=99")
    assert page.status_code == 200
    html = page.content.decode()
    expected = at_risk.at_risk(customers=ids_qs(), as_of=today(), p_below=0.99)
    assert f'data-count="{expected.count()}"' in html
    values = [m.customer.churn.value_at_risk for m in expected if hasattr(m.customer, "churn")]
    assert values == sorted(values, reverse=True)
    # a manager sees only the clients of their location
    mine = client_as(manager).get(reverse("analytics:at_risk") + "?below=99").content.decode()
    far = [c for i, c in enumerate(clients) if i % 4 == 0]
    for c in far:
        assert f'data-customer="{c.pk}"' not in mine
    # the queries do not grow with the rows shown (40 clients against a handful)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts, seen, browser = [], [], client_as(owner)
    for below in (97, 2):  # not asked before: the count is cached once asked
        with CaptureQueriesContext(connection) as queries:
            answer = browser.get(reverse("analytics:at_risk") + f"?location=all&below={below}")
        counts.append((len(queries), answer.content.decode().count("data-customer=")))
        seen.append([q["sql"][:100] for q in queries.captured_queries])
    assert counts[0][1] > counts[1][1]
    assert counts[1][1] > 0, counts
    import difflib

    assert counts[0][0] == counts[1][0], "\n".join(difflib.unified_diff(seen[0], seen[1], lineterm=""))
    # bad input is the default threshold, not an error
    for bad in ("abc", "150", "-1", "1e9", "0.5"):
        answer = browser.get(reverse("analytics:at_risk"), {"below": bad})
        assert answer.status_code == 200 and 'id="at-risk-errors"' in answer.content.decode()
    assert browser.get(reverse("analytics:at_risk"), {"below": "5\x00"}).status_code == 400  # NUL: refused


def ids_qs():
    from customers.models import Customer

    return Customer.objects.active()


def test_one_click_plans_a_win_back_call(client_as, manager, location, other_location):
    clients = _population(location, other_location, n=12)
    rollups.rebuild()
    target = clients[1]
    answer = client_as(manager).post(
        reverse("analytics:at_risk_call"), {"customer": target.pk, "next": "https://evil.example/"}
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("analytics:at_risk")
    call = FollowUp.objects.get(customer=target)
    assert call.location == location and call.status == FollowUp.Status.OPEN and call.purpose
    # another location's client is not the manager's to call
    far = clients[0]
    assert client_as(manager).post(reverse("analytics:at_risk_call"), {"customer": far.pk}).status_code == 403
    assert (
        client_as(manager).post(reverse("analytics:at_risk_call"), {"customer": "x\x00"}).status_code == 400
    )
    assert not FollowUp.objects.filter(customer=far).exists()


def test_merging_two_scored_campaign_clients(location, other_location, manager):
    from analytics.models import Campaign, CampaignMember
    from customers.services import customer_merge

    clients = _population(location, other_location, n=10)
    rollups.rebuild()
    keep, merge, alone = clients[1], clients[2], clients[3]
    assert ChurnScore.objects.filter(customer__in=[keep, merge]).count() == 2
    both = Campaign.objects.create(name="both", message_kind="winback_offer", created_at=timezone.now())
    one = Campaign.objects.create(name="one", message_kind="winback_offer", created_at=timezone.now())
    for campaign, customer in ((both, keep), (both, merge), (one, merge), (one, alone)):
        CampaignMember.objects.create(
            campaign=campaign, customer=customer, group="sent", added_at=timezone.now()
        )
    customer_merge(keep=keep, merge=merge, by=manager.user)
    assert not ChurnScore.objects.filter(customer__in=[keep, merge]).exists()  # rescored tonight
    assert list(both.members.values_list("customer", flat=True)) == [keep.pk]
    assert set(one.members.values_list("customer", flat=True)) == {keep.pk, alone.pk}


def test_the_stage_in_sql_is_the_definitions(location, other_location):
    from analytics.metrics import counted_visits, stage_of
    from analytics.models import CustomerMetrics

    _population(location, other_location, n=50, seed=5)
    rollups.rebuild()
    days: dict[int, set] = {}
    for pk, day in counted_visits().values_list("customer_id", "day"):
        days.setdefault(pk, set()).add(day)
    for as_of in (today(), today() - timedelta(days=100)):
        staged = dict(
            at_risk.with_stage(CustomerMetrics.objects.all(), as_of).values_list("customer_id", "stage")
        )
        # the rows hold every visit day to today: exact for today; for an earlier day only for
        # the clients with no visit day after it
        for pk, visit_days in days.items():
            if max(visit_days) <= as_of:
                assert staged[pk] == stage_of(days=sorted(visit_days), as_of=as_of), pk
    assert {"dormant", "lost", "active"} <= set(staged.values())


def test_the_other_reasons_in_words(location, django_assert_max_num_queries):
    """A low last survey, fewer kinds of service in the last three visit days, an unused package;
    and the queries stay the same for one client or many."""
    from django.db import transaction

    from appointments.models import VisitLine
    from feedback.models import Survey
    from loyalty import services as loyalty
    from loyalty.models import CustomerPackage, PackagePlan
    from tests.appointments.factories import ServiceCategoryFactory, ServiceFactory

    t = today()
    old = datetime(2023, 1, 1, tzinfo=SHANGHAI)
    kinds = [ServiceFactory(category=ServiceCategoryFactory(name=f"类{i}")) for i in range(3)]
    narrowing = CustomerFactory(name="项目变少", created_at=old)
    for i, days_ago in enumerate((300, 270, 240, 210, 180, 150)):
        v = visit(narrowing, location, t - timedelta(days=days_ago))
        for service in kinds if i < 3 else kinds[:1]:
            VisitLine.objects.create(
                visit=v, kind="service", service=service, description="x", unit_price=50, amount=50
            )
    unhappy = CustomerFactory(name="不满意", created_at=old)
    v = visit(unhappy, location, t - timedelta(days=30))
    moment = v.started_at
    Survey.objects.create(
        visit=v,
        customer=unhappy,
        location=location,
        nonce="n",
        created_at=moment,
        send_at=moment,
        expires_at=moment + timedelta(days=14),
        answered_at=moment + timedelta(hours=5),
        csat=2,
    )
    idle = CustomerFactory(name="套餐未用", created_at=old)
    visit(idle, location, t - timedelta(days=100))
    with transaction.atomic():
        account = loyalty.account_locked(idle)
    plan = PackagePlan.objects.create(name="护理×10", sessions=10, price=Decimal("800"))
    CustomerPackage.objects.create(
        account=account,
        plan=plan,
        name=plan.name,
        sessions_total=10,
        sessions_left=7,
        price=plan.price,
        expires_on=t + timedelta(days=200),
        created_at=timezone.now() - timedelta(days=120),
    )
    everyone = [narrowing.pk, unhappy.pk, idle.pk]
    with django_assert_max_num_queries(6):
        found = at_risk.reasons_for(everyone, as_of=t)
    codes = {pk: {r.code for r in rs} for pk, rs in found.items()}
    assert at_risk.FEWER_KINDS in codes[narrowing.pk]
    assert codes[unhappy.pk] == {at_risk.LOW_SCORE}
    assert at_risk.PACKAGE in codes[idle.pk]
    assert any("护理×10" in r.text and "7" in r.text for r in found[idle.pk])
    with django_assert_max_num_queries(6):
        at_risk.reasons_for([narrowing.pk], as_of=t)


def test_a_client_at_risk_goes_into_a_draft_campaign_in_one_click(
    client_as, manager, owner, location, other_location
):
    from analytics.models import Campaign, CampaignMember

    clients = _population(location, other_location, n=16)
    rollups.rebuild()
    draft = Campaign.objects.create(
        name="秋季唤醒", message_kind="winback_offer", created_at=timezone.now(), created_by=owner.user
    )
    draft.locations.set([location])
    browser = client_as(manager)
    page = browser.get(reverse("analytics:at_risk") + "?below=99").content.decode()
    assert f'<option value="{draft.pk}">秋季唤醒</option>' in page  # another manager's draft of this location
    target = next(c for i, c in enumerate(clients) if i % 4 and f'data-customer="{c.pk}"' in page)
    answer = browser.post(
        reverse("analytics:campaign_add_client"),
        {"campaign": draft.pk, "customer": target.pk, "next": reverse("analytics:at_risk")},
    )
    assert answer.status_code == 302
    assert CampaignMember.objects.filter(campaign=draft, customer=target, group="picked").exists()


def test_a_clients_metrics_at_the_edges_of_the_calendar(api_as, reception, location, other_location):
    clients = _population(location, other_location, n=12)
    rollups.rebuild()
    api = api_as(reception)
    for as_of in ("0001-01-01", "0001-01-02", "9999-12-31"):
        answer = api.get(f"/api/v1/customers/{clients[1].pk}/metrics/?as_of={as_of}")
        assert answer.status_code == 200, (as_of, answer.content)
    assert (
        api.get(f"/api/v1/customers/{clients[1].pk}/metrics/?as_of=0001-01-01").json()["stage"] == "potential"
    )
    for bad in ("2026-02-30", "10000-01-01", "2026-01-01\x00", "yesterday"):
        assert api.get(f"/api/v1/customers/{clients[1].pk}/metrics/", {"as_of": bad}).status_code == 400


def test_a_double_submitted_call_plans_one_call(client_as, manager, location, other_location):
    clients = _population(location, other_location, n=8)
    rollups.rebuild()
    browser = client_as(manager)
    for _ in range(3):
        assert browser.post(reverse("analytics:at_risk_call"), {"customer": clients[1].pk}).status_code == 302
    assert FollowUp.objects.filter(customer=clients[1]).count() == 1
