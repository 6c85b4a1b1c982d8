"""Win-back and birthday campaigns (issue 14, item 5; analytics.campaigns): the holdout drawn with
a fixed seed has exactly round(n × share) clients and none of them gets a message or a coupon;
every audience condition; the preview's exclusions (do-not-contact, no address, no consent, the
marketing cap); the results and the lift's interval on visits made after the launch (known
answers), changing as visits come in, in one query whatever the size; bad input; and a manager
kept to their own locations' campaigns."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from analytics import campaigns
from analytics.campaigns import (
    campaign_launch,
    campaign_send,
    holdout_size,
    newcombe,
    preview,
    results,
    welch,
)
from analytics.models import Campaign, CampaignMember, ChurnScore, CustomerMetrics
from appointments.models import Visit, VisitLine
from customers.models import Customer
from loyalty.models import Coupon, LoyaltyAccount, MembershipTier
from messaging import dispatch, kinds
from messaging.channels import local
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict
from tests.appointments.factories import ServiceFactory
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
G = CampaignMember.Group


def today() -> date:
    return timezone.localdate()


def visit(customer, location, when: datetime, total: str = "100", service=None) -> Visit:
    v = Visit.objects.create(
        customer=customer,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=when,
        completed_at=when + timedelta(hours=1),
        subtotal=Decimal(total),
        total=Decimal(total),
    )
    if service is not None:
        VisitLine.objects.create(
            visit=v,
            kind="service",
            service=service,
            description=service.name,
            unit_price=v.total,
            amount=v.total,
        )
    return v


def metrics(customer, location, *, last: int, first: int = 400, visit_days: int = 2, monetary: int = 3):
    """The client's nightly figures: first and last visit `first` / `last` days ago."""
    t = today()
    return CustomerMetrics.objects.create(
        customer=customer,
        first_day=t - timedelta(days=first),
        first_location=location,
        last_day=t - timedelta(days=last),
        visit_days=visit_days,
        visits=visit_days,
        revenue=Decimal("500"),
        monetary_score=monetary,
        as_of=t,
    )


def client(location, name: str = "", **kwargs) -> Customer:
    kwargs.setdefault("consent_sms", True)
    kwargs.setdefault("home_location", location)
    return CustomerFactory(name=name or f"Client {Customer.objects.count()}", **kwargs)


def campaign(by, locations, **fields) -> Campaign:
    fields.setdefault("name", "Win-back")
    fields.setdefault("message_kind", campaigns.WINBACK)
    fields.setdefault("coupon_value", Decimal("50"))
    tags = fields.pop("tags", [])
    tiers = fields.pop("tiers", [])
    seed = fields.pop("seed", None)
    c = campaigns.campaign_save(
        campaign=Campaign(**fields), by=by.user, locations=locations, tags=tags, tiers=tiers
    )
    if seed is not None:
        Campaign.objects.filter(pk=c.pk).update(seed=seed)
        c.refresh_from_db()
    return c


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


@pytest.fixture
def no_quiet_hours(settings):
    settings.MESSAGING_QUIET_HOURS = ("00:00", "00:00")


# ---- the message kind -------------------------------------------------------------------------------


def test_the_winback_kind_is_marketing_with_both_languages():
    kind = kinds.get_kind(campaigns.WINBACK)
    assert kind is not None and kind.marketing
    assert {"code", "value", "valid_until", "unsubscribe_url"} <= set(kind.context)
    for channel in ("sms", "email", "wechat"):
        assert kind.defaults[(channel, kinds.EN)][1] and kind.defaults[(channel, kinds.ZH)][1]
    assert [k.key for k in campaigns.message_kinds()] == sorted(
        [k.key for k in campaigns.message_kinds()], key=[k.key for k in kinds.kinds()].index
    )
    assert {"birthday_greeting", campaigns.WINBACK} <= {k.key for k in campaigns.message_kinds()}


# ---- the holdout: a fixed seed ------------------------------------------------------------------------


def test_fixed_seed_holdout_has_the_drawn_share_and_never_gets_a_message(manager, location, no_quiet_hours):
    # given 37 dormant clients who said yes to SMS, and a campaign with seed 20261204
    people = [client(location) for _ in range(37)]
    for p in people:
        metrics(p, location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.1"), seed=20261204)
    assert preview(c, user=manager.user, as_of=today())["holdout"] == 4

    # when it is launched
    launched = campaign_launch(campaign=c, by=manager.user)

    # then the holdout is exactly round(37 × 0.1) = 4, drawn by the seed over the ids in order
    assert launched.status == Campaign.Status.LAUNCHED
    assert holdout_size(37, Decimal("0.1")) == round(37 * 0.1) == 4
    ordered = sorted(p.pk for p in people)
    drawn = {ordered[i] for i in np.random.default_rng(20261204).permutation(37)[:4]}
    holdout = set(
        CampaignMember.objects.filter(campaign=c, group=G.HOLDOUT).values_list("customer_id", flat=True)
    )
    sent = set(CampaignMember.objects.filter(campaign=c, group=G.SENT).values_list("customer_id", flat=True))
    assert holdout == drawn
    assert sent == set(ordered) - drawn and len(sent) == 33
    # the holdout gets nothing: no message, no coupon
    assert not OutboundMessage.objects.filter(customer_id__in=holdout).exists()
    assert not Coupon.objects.filter(customer_id__in=holdout).exists()
    assert not CampaignMember.objects.filter(campaign=c, group=G.HOLDOUT, message__isnull=False).exists()
    # every sent client gets exactly one message keyed (campaign, client), and one coupon
    messages = OutboundMessage.objects.filter(customer_id__in=sent)
    assert messages.count() == 33
    assert {m.idempotency_key for m in messages} == {f"campaign:{c.pk}:{pk}" for pk in sent}
    assert set(messages.values_list("kind", flat=True)) == {campaigns.WINBACK}
    assert set(messages.values_list("location_id", flat=True)) == {location.pk}
    assert (
        Coupon.objects.filter(customer_id__in=sent, kind=Coupon.Kind.WINBACK, value=Decimal("50")).count()
        == 33
    )
    member = (
        CampaignMember.objects.select_related("coupon", "message").filter(campaign=c, group=G.SENT).first()
    )
    assert member.coupon.code in member.message.body and member.message.customer_id == member.customer_id
    assert launched.excluded == {"do_not_contact": 0, "no_address": 0, "no_consent": 0, "cap": 0}

    # a second launch is refused and sends nothing more; a resumed send finds nothing to do
    with pytest.raises(Conflict):
        campaign_launch(campaign=c, by=manager.user)
    assert campaign_send(campaign_id=c.pk) == 0
    assert OutboundMessage.objects.count() == 33 and Coupon.objects.count() == 33

    # when the dispatcher runs, the sent group's messages go out and the holdout's do not exist
    local.outbox.clear()
    dispatch.dispatch_pass(batch_size=100)
    assert len(local.outbox) == 33
    assert OutboundMessage.objects.filter(status=OutboundMessage.Status.SENT).count() == 33
    holdout_phones = {str(p.phone) for p in people if p.pk in holdout}
    assert not holdout_phones & {m.to for m in local.outbox}


def test_a_launch_stopped_part_way_resumes_without_sending_twice(manager, location):
    people = [client(location) for _ in range(5)]
    for p in people:
        metrics(p, location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.2"), seed=7)
    campaign_launch(campaign=c, by=manager.user)
    first = set(OutboundMessage.objects.values_list("pk", flat=True))
    assert len(first) == 4
    # a worker died after the draw and half the sends: the campaign is still launching
    member = CampaignMember.objects.filter(campaign=c, group=G.SENT).order_by("pk").first()
    CampaignMember.objects.filter(pk=member.pk).update(message=None, coupon=None)
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.LAUNCHING)
    resumed = campaign_launch(campaign=c, by=manager.user)
    assert resumed.status == Campaign.Status.LAUNCHED
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) == first  # same keys: same rows
    assert Coupon.objects.count() == 4
    assert CampaignMember.objects.filter(campaign=c, group=G.HOLDOUT).count() == 1


def test_the_holdout_is_drawn_from_reachable_clients_only(manager, location):
    reachable = [client(location) for _ in range(10)]
    unreachable = [client(location, consent_sms=False) for _ in range(3)]
    for p in reachable + unreachable:
        metrics(p, location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.25"), seed=1)
    launched = campaign_launch(campaign=c, by=manager.user)
    members = CampaignMember.objects.filter(campaign=c)
    assert members.filter(group=G.HOLDOUT).count() == 3  # round(10 × 0.25) = 2.5 → 3, halves up
    assert members.filter(group=G.SENT).count() == 7
    assert not members.filter(customer__in=unreachable).exists()
    assert launched.excluded["no_consent"] == 3


# ---- the audience ------------------------------------------------------------------------------------


def test_audience_stage_and_locations(manager, owner, location, other_location):
    t = today()
    new = client(location)
    metrics(new, location, last=5, first=20, visit_days=1)
    active = client(location)
    metrics(active, location, last=10)
    dormant = client(location)
    metrics(dormant, location, last=120)
    lost = client(location)
    metrics(lost, location, last=400, first=800)
    far = client(other_location, home_location=other_location)
    metrics(far, other_location, last=120)
    c = campaign(manager, [location], stages=["dormant"])
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == {dormant.pk}
    c = campaign(manager, [location], stages=["new", "lost"])
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == {new.pk, lost.pk}
    # the owner's chain-wide campaign has the other location's dormant client too
    chain = campaign(owner, [], stages=["dormant"])
    assert ids(campaigns.audience(chain, user=owner.user, as_of=t)) == {dormant.pk, far.pk}
    # ... but a manager only ever gets their own locations' clients
    assert ids(campaigns.audience(chain, user=manager.user, as_of=t)) == {dormant.pk}
    only_far = campaign(owner, [other_location], stages=["dormant"])
    assert ids(campaigns.audience(only_far, user=owner.user, as_of=t)) == {far.pk}


def test_audience_at_risk_value_and_spending_score(manager, location):
    t = today()
    rich_dormant = client(location)
    metrics(rich_dormant, location, last=120, monetary=5)
    ChurnScore.objects.create(
        customer=rich_dormant, p_alive=0.7, expected_visits_90d=1, clv_365d=2000, value_at_risk=600, as_of=t
    )
    poor_dormant = client(location)
    metrics(poor_dormant, location, last=120, monetary=1)
    ChurnScore.objects.create(
        customer=poor_dormant, p_alive=0.7, expected_visits_90d=1, clv_365d=100, value_at_risk=30, as_of=t
    )
    fading = client(location)  # active, but the model gives a low P(alive)
    metrics(fading, location, last=30, monetary=4)
    ChurnScore.objects.create(
        customer=fading, p_alive=0.2, expected_visits_90d=0.1, clv_365d=900, value_at_risk=720, as_of=t
    )
    happy = client(location)
    metrics(happy, location, last=10, monetary=5)
    ChurnScore.objects.create(
        customer=happy, p_alive=0.95, expected_visits_90d=3, clv_365d=3000, value_at_risk=150, as_of=t
    )

    def audience(**f) -> set[int]:
        return ids(campaigns.audience(campaign(manager, [location], **f), user=manager.user, as_of=t))

    assert audience(at_risk=True) == {rich_dormant.pk, poor_dormant.pk, fading.pk}
    assert audience(at_risk=True, min_clv=Decimal("800")) == {rich_dormant.pk, fading.pk}
    assert audience(min_monetary_score=5) == {rich_dormant.pk, happy.pk}
    assert audience(stages=["dormant"], min_monetary_score=4) == {rich_dormant.pk}
    assert audience(min_clv=Decimal("2000")) == {rich_dormant.pk, happy.pk}


def test_audience_tags_and_tiers(manager, location):
    t = today()
    vip, colour = TagFactory(name="VIP"), TagFactory(name="Colour")
    a = client(location, tags=[vip])
    b = client(location, tags=[colour, vip])
    client(location, tags=[TagFactory(name="Other")])
    gold = MembershipTier.objects.create(name="Gold", rank=3)
    silver = MembershipTier.objects.create(name="Silver", rank=2)
    LoyaltyAccount.objects.create(customer=a, tier=gold)
    LoyaltyAccount.objects.create(customer=b, tier=silver)
    by_tag = campaign(manager, [location], tags=[vip, colour])
    assert ids(campaigns.audience(by_tag, user=manager.user, as_of=t)) == {a.pk, b.pk}  # any tag, once
    assert campaigns.audience(by_tag, user=manager.user, as_of=t).count() == 2
    by_tier = campaign(manager, [location], tiers=[gold])
    assert ids(campaigns.audience(by_tier, user=manager.user, as_of=t)) == {a.pk}
    both = campaign(manager, [location], tags=[colour], tiers=[gold])
    assert ids(campaigns.audience(both, user=manager.user, as_of=t)) == set()


def test_audience_last_service_is_the_most_recent_counted_visits(manager, location):
    t = today()
    colour, cut = ServiceFactory(name="Colour"), ServiceFactory(name="Cut")

    def at(days: int) -> datetime:
        return datetime.combine(t - timedelta(days=days), datetime.min.time(), SHANGHAI).replace(hour=11)

    last_colour = client(location)
    visit(last_colour, location, at(100), service=cut)
    visit(last_colour, location, at(50), service=colour)
    colour_before = client(location)
    visit(colour_before, location, at(100), service=colour)
    visit(colour_before, location, at(50), service=cut)
    voided_after = client(location)  # the later visit was voided: the colour is still the last
    visit(voided_after, location, at(100), service=colour)
    v = visit(voided_after, location, at(20), service=cut)
    Visit.objects.filter(pk=v.pk).update(status=Visit.Status.VOIDED)
    c = campaign(manager, [location], last_service=colour)
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == {last_colour.pk, voided_after.pk}


@pytest.mark.parametrize(
    ("as_of", "days", "inside", "outside"),
    [
        (
            date(2026, 12, 28),
            7,
            [date(1990, 12, 28), date(1985, 1, 4)],
            [date(1990, 12, 27), date(1985, 1, 5)],
        ),
        # 29 February is kept on the 28th in a common year, on the 29th in a leap year
        (date(2027, 2, 28), 0, [date(1992, 2, 29), date(1990, 2, 28)], [date(1990, 3, 1)]),
        (date(2028, 2, 28), 0, [date(1990, 2, 28)], [date(1992, 2, 29)]),
        (date(2028, 2, 29), 0, [date(1992, 2, 29)], [date(1990, 2, 28), date(1990, 3, 1)]),
        (date(2026, 6, 1), 365, [date(1990, 5, 31), date(1992, 2, 29)], []),
    ],
)
def test_audience_birthday_within_days(manager, location, as_of, days, inside, outside):
    people = {d: client(location, birthday=d) for d in inside + outside}
    client(location)  # no birthday on file
    c = campaign(manager, [location], kind=Campaign.Kind.BIRTHDAY, birthday_within_days=days)
    assert ids(campaigns.audience(c, user=manager.user, as_of=as_of)) == {people[d].pk for d in inside}


def test_no_condition_means_only_the_clients_picked_by_hand(manager, location, other_location):
    t = today()
    picked = client(location)
    client(location)
    c = campaign(manager, [location])
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == set()
    campaigns.campaign_add_client(campaign=c, customer=picked, by=manager.user)
    campaigns.campaign_add_client(campaign=c, customer=picked, by=manager.user)  # twice: once
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == {picked.pk}
    # picked clients are added to the condition's clients
    dormant = client(location)
    metrics(dormant, location, last=120)
    Campaign.objects.filter(pk=c.pk).update(stages=["dormant"])
    c.refresh_from_db()
    assert ids(campaigns.audience(c, user=manager.user, as_of=t)) == {picked.pk, dormant.pk}
    # a client of another location cannot be picked by this manager
    far = client(other_location, home_location=other_location)
    with pytest.raises(campaigns.PermissionDenied):
        campaigns.campaign_add_client(campaign=c, customer=far, by=manager.user)
    assert CampaignMember.objects.filter(campaign=c).count() == 1


# ---- the preview's exclusions ---------------------------------------------------------------------------


def test_preview_counts_who_cannot_be_reached_and_why(manager, location, settings):
    settings.MESSAGING_MARKETING_CAP = (2, 30)
    t = today()
    ok = [client(location) for _ in range(6)]
    dnc = client(location, do_not_contact=True)
    no_consent = client(location, consent_sms=False, consent_email=False)
    no_phone = client(location, phone=None, email="", consent_sms=True)
    capped = client(location)
    now = timezone.now()
    for i in range(2):
        OutboundMessage.objects.create(
            customer=capped, kind="birthday_greeting", channel="sms", idempotency_key=f"old:{i}", language="en",
            marketing=True, status=OutboundMessage.Status.SENT, scheduled_for=now - timedelta(days=3),
            sent_at=now - timedelta(days=3),
        )  # fmt: skip
    # an old one and a suppressed one do not count towards the cap
    long_ago = client(location)
    OutboundMessage.objects.create(
        customer=long_ago, kind="birthday_greeting", channel="sms", idempotency_key="older", language="en",
        marketing=True, status=OutboundMessage.Status.SENT, scheduled_for=now - timedelta(days=40),
        sent_at=now - timedelta(days=40),
    )  # fmt: skip
    everyone = ok + [dnc, no_consent, no_phone, capped, long_ago]
    for p in everyone:
        metrics(p, location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.1"))
    assert preview(c, user=manager.user, as_of=t) == {
        "audience": 11,
        "excluded": {"do_not_contact": 1, "no_address": 1, "no_consent": 1, "cap": 1},
        "eligible": 7,
        "holdout": 1,
        "sent": 6,
    }
    # on email only: no one has an email address but ...
    Customer.objects.filter(pk=ok[0].pk).update(email="a@example.com", consent_email=True)
    Customer.objects.filter(pk=ok[1].pk).update(email="b@example.com")
    Campaign.objects.filter(pk=c.pk).update(channel="email")
    c.refresh_from_db()
    p = preview(c, user=manager.user, as_of=t)
    assert p["excluded"] == {"do_not_contact": 1, "no_address": 8, "no_consent": 1, "cap": 0}
    assert p["eligible"] == 1


def test_preview_is_one_query(manager, location, django_assert_num_queries):
    for _ in range(20):
        metrics(client(location), location, last=120)
    c = campaign(manager, [location], stages=["dormant"])
    c = Campaign.objects.prefetch_related("locations", "tags", "tiers").get(pk=c.pk)
    # 2 (the campaign's locations, tags and tiers prefetched): whether the manager has a
    # location (the bulk scope), and the grouped count itself
    with django_assert_num_queries(2):
        assert preview(c, user=manager.user, as_of=today())["eligible"] == 20


# ---- results and the lift -------------------------------------------------------------------------------


def test_newcombe_and_welch_known_answers():
    # Newcombe (1998), table II: 56/70 against 48/80, method 10: 0.0524 to 0.3339
    i = newcombe(56, 70, 48, 80)
    assert i.estimate == pytest.approx(0.2)
    assert (round(i.low, 4), round(i.high, 4)) == (0.0524, 0.3339)
    # Welch's interval equals scipy's on the raw values
    from scipy import stats

    a, b = [100.0, 0.0, 250.0, 80.0, 0.0, 300.0], [0.0, 120.0, 0.0, 60.0]
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    w = welch(sum(a), sum(x * x for x in a), len(a), sum(b), sum(x * x for x in b), len(b))
    assert w.estimate == pytest.approx(np.mean(a) - np.mean(b))
    assert (w.low, w.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert newcombe(0, 0, 1, 2).estimate is None and welch(0, 0, 1, 0, 0, 1).low is None


@pytest.fixture
def launched(manager, location, no_quiet_hours):
    """10 dormant clients, half held out (seed 3), launched 40 days ago."""
    people = [client(location) for _ in range(10)]
    for p in people:
        metrics(p, location, last=150)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.5"), seed=3)
    campaign_launch(campaign=c, by=manager.user)
    moment = timezone.now() - timedelta(days=40)
    Campaign.objects.filter(pk=c.pk).update(launched_at=moment)
    c.refresh_from_db()
    sent = list(
        Customer.objects.filter(
            pk__in=CampaignMember.objects.filter(campaign=c, group=G.SENT).values("customer_id")
        ).order_by("pk")
    )
    held = list(
        Customer.objects.filter(
            pk__in=CampaignMember.objects.filter(campaign=c, group=G.HOLDOUT).values("customer_id")
        ).order_by("pk")
    )
    return c, sent, held, moment


def test_results_on_visits_after_the_launch(launched, location):
    c, sent, held, moment = launched
    assert len(sent) == 5 and len(held) == 5
    # sent: three back within 30 days (one paying with the coupon), one more by day 45
    for p, days, total in (
        (sent[0], 2, "200"),
        (sent[1], 10, "100"),
        (sent[2], 29, "300"),
        (sent[3], 45, "150"),
    ):
        visit(p, location, moment + timedelta(days=days), total)
    visit(sent[0], location, moment + timedelta(days=20), "50")  # a second visit adds revenue
    visit(sent[4], location, moment - timedelta(days=1), "999")  # before the launch: not a return
    Coupon.objects.filter(customer=sent[0]).update(status=Coupon.Status.USED)
    # holdout: one back within 30 days, none later
    visit(held[0], location, moment + timedelta(days=5), "120")
    r = results(c)
    assert r["windows"] == {30: {"days": 30, "complete": True}, 60: {"days": 41, "complete": False}}
    s, h = r["groups"][G.SENT], r["groups"][G.HOLDOUT]
    assert (s["members"], s["returned30"], s["returned60"], s["redeemed"]) == (5, 3, 4, 1)
    assert (h["members"], h["returned30"], h["returned60"], h["redeemed"]) == (5, 1, 1, 0)
    assert s["revenue"] == Decimal("800.00") and s["revenue_per_member"] == Decimal("160.00")
    assert h["revenue"] == Decimal("120.00") and h["revenue_per_member"] == Decimal("24.00")
    assert r["lift"]["rate30"] == newcombe(3, 5, 1, 5)
    assert r["lift"]["rate30"].estimate == pytest.approx(0.4)
    assert r["lift"]["rate60"] == newcombe(4, 5, 1, 5)
    spent = [250.0, 100.0, 300.0, 150.0, 0.0]
    assert r["lift"]["revenue_per_member"] == welch(
        sum(spent), sum(x * x for x in spent), 5, 120.0, 120.0 * 120.0, 5
    )

    # updates as visits come in: a second holdout client comes back
    visit(held[1], location, timezone.now() - timedelta(hours=1), "80")
    again = results(c)
    assert again["groups"][G.HOLDOUT]["returned60"] == 2 and again["groups"][G.HOLDOUT]["returned30"] == 1
    assert again["groups"][G.HOLDOUT]["revenue"] == Decimal("200.00")
    assert again["lift"]["rate60"] == newcombe(4, 5, 2, 5)
    # a voided visit counts for nothing
    Visit.objects.filter(customer=held[1]).update(status=Visit.Status.VOIDED)
    assert results(c)["groups"][G.HOLDOUT]["returned60"] == 1


def test_results_are_one_query_whatever_the_size(manager, location, django_assert_num_queries):
    def launch(n: int) -> Campaign:
        people = [client(location) for _ in range(n)]
        for p in people:
            metrics(p, location, last=150)
            visit(p, location, timezone.now() + timedelta(minutes=5), "100")
        c = campaign(manager, [location], stages=["dormant"], name=f"n{n}")
        c = campaign_launch(campaign=c, by=manager.user)
        CustomerMetrics.objects.filter(customer__in=people).delete()  # the next campaign's audience only
        return c

    small, large = launch(3), launch(40)
    # 1: members grouped, with their returns, redemptions and revenue as subqueries
    with django_assert_num_queries(1):
        r = results(small)
    assert r["groups"][G.SENT]["members"] + r["groups"][G.HOLDOUT]["members"] == 3
    with django_assert_num_queries(1):
        r = results(large)
    assert r["groups"][G.SENT]["members"] == 36 and r["groups"][G.HOLDOUT]["members"] == 4
    assert r["groups"][G.SENT]["returned30"] == 36


# ---- the pages ---------------------------------------------------------------------------------------


def _form(location, **overrides) -> dict:
    data = {
        "name": "沉睡唤醒 12月",
        "kind": "winback",
        "locations": [location.pk],
        "stages": ["dormant"],
        "min_monetary_score": "4",
        "coupon_value": "50",
        "coupon_min_spend": "200",
        "coupon_valid_days": "30",
        "message_kind": campaigns.WINBACK,
        "channel": "",
        "holdout_share": "0.1",
    }
    data.update(overrides)
    return data


def test_the_manager_builds_previews_and_launches_a_campaign(client_as, manager, location):
    for i in range(12):
        p = client(location, name=f"高价值{i}")
        metrics(p, location, last=120, monetary=5 if i < 10 else 2)
    web = client_as(manager)
    assert web.get(reverse("analytics:campaigns")).status_code == 200
    assert web.get(reverse("analytics:campaign_new")).status_code == 200
    response = web.post(reverse("analytics:campaign_new"), _form(location))
    c = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("analytics:campaign", args=[c.pk])
    assert (c.created_by, c.status, c.stages, c.min_monetary_score) == (manager.user, "draft", ["dormant"], 4)
    page = web.get(reverse("analytics:campaign", args=[c.pk]))
    assert page.status_code == 200
    assert page.context["preview"] == {
        "audience": 10,
        "excluded": {"do_not_contact": 0, "no_address": 0, "no_consent": 0, "cap": 0},
        "eligible": 10,
        "holdout": 1,
        "sent": 9,
    }
    assert b'id="campaign-launch"' in page.content
    # the edit form keeps the draft's answers
    edit = web.get(reverse("analytics:campaign_edit", args=[c.pk]))
    assert edit.status_code == 200 and edit.context["form"].initial["stages"] == ["dormant"]

    response = web.post(reverse("analytics:campaign_launch", args=[c.pk]))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.status == Campaign.Status.LAUNCHED
    assert OutboundMessage.objects.count() == 9
    page = web.get(reverse("analytics:campaign", args=[c.pk]))
    assert page.status_code == 200 and page.context["results"]["groups"]["sent"]["members"] == 9
    assert b'id="results-table"' in page.content and b'id="lift-table"' in page.content
    # again: refused, nothing more sent; the draft can no longer be edited
    response = web.post(reverse("analytics:campaign_launch", args=[c.pk]), follow=True)
    assert "launched already" in response.content.decode()
    assert OutboundMessage.objects.count() == 9
    response = web.post(reverse("analytics:campaign_edit", args=[c.pk]), _form(location, name="changed"))
    assert response.status_code == 302
    c.refresh_from_db()
    assert c.name == "沉睡唤醒 12月"
    assert web.get(reverse("analytics:campaigns")).context["campaigns"][0].n_sent == 9


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"holdout_share": "1.5"}, "holdout_share"),
        ({"holdout_share": "-0.1"}, "holdout_share"),
        ({"holdout_share": "abc"}, "holdout_share"),
        ({"coupon_value": "-5"}, "coupon_value"),
        ({"coupon_value": ""}, "coupon_value"),  # the message gives a code
        ({"coupon_value": "1e400"}, "coupon_value"),
        ({"coupon_min_spend": "-1"}, "coupon_min_spend"),
        ({"name": "bad\x00name"}, "name"),
        ({"name": ""}, "name"),
        ({"min_monetary_score": "9"}, "min_monetary_score"),
        ({"min_clv": "NaN"}, "min_clv"),
        ({"birthday_within_days": "9999"}, "birthday_within_days"),
        ({"stages": ["sleepy"]}, "stages"),
        ({"locations": ["abc"]}, "locations"),
        ({"locations": []}, "locations"),  # a manager's campaign names their locations
        ({"message_kind": "appointment_reminder"}, "message_kind"),  # not a marketing kind
        ({"channel": "fax"}, "channel"),
        ({"coupon_valid_days": "0001"}, None),  # a number: 1 day
        ({"last_service": "99999999999999999999"}, "last_service"),
    ],
)
def test_bad_input_is_a_form_error(client_as, manager, location, other_location, overrides, field):
    response = client_as(manager).post(reverse("analytics:campaign_new"), _form(location, **overrides))
    if field is None:
        assert response.status_code == 302
        return
    assert response.status_code == 400
    if response.context is not None:  # a NUL byte is refused before the view (salon_crm middleware)
        assert field in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_a_manager_cannot_name_another_location(client_as, manager, location, other_location):
    response = client_as(manager).post(
        reverse("analytics:campaign_new"), _form(location, locations=[other_location.pk])
    )
    assert response.status_code == 400 and "locations" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_bad_ids_and_queries_are_never_a_500(client_as, manager, location):
    web = client_as(manager)
    assert web.get("/dashboard/campaigns/99999999999999999999/").status_code == 404
    assert web.post("/dashboard/campaigns/99999999999999999999/launch/").status_code == 404
    assert web.get(reverse("analytics:campaigns") + "?as_of=0001-01-01&x=9999-12-31").status_code == 200
    assert web.get(reverse("analytics:campaign_new") + "?kind=9999").status_code == 200
    assert web.get(reverse("analytics:campaign_new") + "?kind=%00").status_code == 400  # refused early
    url = reverse("analytics:campaign_add_client")
    for body in ({}, {"campaign": "abc", "customer": "1"}, {"campaign": "1", "customer": "1\x00"},
                 {"campaign": "0", "customer": "9999-12-31"}, {"campaign": "99999999999999999999", "customer": "1"}):  # fmt: skip
        assert web.post(url, body).status_code == 400
    assert web.post(url, {"campaign": "12345", "customer": "1"}).status_code == 404


def test_add_client_from_the_at_risk_list(client_as, manager, location, other_location):
    c = campaign(manager, [location])
    p = client(location)
    web = client_as(manager)
    url = reverse("analytics:campaign_add_client")
    response = web.post(url, {"campaign": c.pk, "customer": p.pk, "next": "/dashboard/at-risk/?page=2"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/at-risk/?page=2"
    assert CampaignMember.objects.filter(campaign=c, customer=p, group=G.PICKED).count() == 1
    # an unsafe `next` goes back to the campaign
    response = web.post(url, {"campaign": c.pk, "customer": p.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("analytics:campaign", args=[c.pk])
    assert CampaignMember.objects.filter(campaign=c).count() == 1
    # another location's client looks missing; a launched campaign takes no one
    far = client(other_location, home_location=other_location)
    assert web.post(url, {"campaign": c.pk, "customer": far.pk}).status_code == 404
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.LAUNCHED)
    other = client(location)
    response = web.post(url, {"campaign": c.pk, "customer": other.pk}, follow=True)
    assert "only be added to a draft" in response.content.decode()
    assert CampaignMember.objects.filter(campaign=c).count() == 1


def test_a_manager_never_sees_or_launches_another_locations_campaign(
    client_as, manager, owner, reception, stylist, location, other_location
):
    far = client(other_location, home_location=other_location)
    metrics(far, other_location, last=120)
    theirs = campaign(owner, [other_location], stages=["dormant"], name="徐汇 win-back")
    chain = campaign(owner, [], stages=["dormant"], name="chain")
    mine = campaign(manager, [location], stages=["dormant"], name="mine")
    web = client_as(manager)
    listed = {c.pk for c in web.get(reverse("analytics:campaigns")).context["campaigns"]}
    assert listed == {mine.pk}
    for c in (theirs, chain):
        assert web.get(reverse("analytics:campaign", args=[c.pk])).status_code == 404
        assert web.get(reverse("analytics:campaign_edit", args=[c.pk])).status_code == 404
        assert web.post(reverse("analytics:campaign_launch", args=[c.pk])).status_code == 404
        assert (
            web.post(
                reverse("analytics:campaign_add_client"), {"campaign": c.pk, "customer": far.pk}
            ).status_code
            == 404
        )
    with pytest.raises(campaigns.PermissionDenied):
        campaign_launch(campaign=theirs, by=manager.user)
    assert Campaign.objects.filter(status=Campaign.Status.DRAFT).count() == 3
    assert not CampaignMember.objects.exists() and not OutboundMessage.objects.exists()
    # the owner sees all three
    owner_web = client_as(owner)
    assert {c.pk for c in owner_web.get(reverse("analytics:campaigns")).context["campaigns"]} == {
        theirs.pk,
        chain.pk,
        mine.pk,
    }
    # the desk and stylists: nothing
    for staff in (reception, stylist):
        w = client_as(staff)
        assert w.get(reverse("analytics:campaigns")).status_code == 403
        assert w.get(reverse("analytics:campaign", args=[mine.pk])).status_code == 403
        assert w.post(reverse("analytics:campaign_launch", args=[mine.pk])).status_code == 403
    assert Campaign.objects.get(pk=mine.pk).status == Campaign.Status.DRAFT


# ---- the API ----------------------------------------------------------------------------------------


def test_the_results_api(api_as, manager, owner, reception, launched, location, other_location):
    c, sent, held, moment = launched
    visit(sent[0], location, moment + timedelta(days=3), "200")
    url = f"/api/v1/analytics/campaigns/{c.pk}/results/"
    response = api_as(manager).get(url)
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["sent"]["members"], data["holdout"]["members"]) == ("launched", 5, 5)
    assert data["sent"]["returned30"] == 1 and data["sent"]["revenue"] == "200.00"
    assert data["window30"] == {"days": 30, "complete": True}
    assert data["lift"]["rate30"]["estimate"] == pytest.approx(0.2)
    assert data["lift"]["rate30"]["low"] == pytest.approx(newcombe(1, 5, 0, 5).low)
    # a draft answers with no figures; another location's campaign looks missing; the desk: 403
    draft = campaign(manager, [location], stages=["dormant"], name="draft")
    assert api_as(manager).get(f"/api/v1/analytics/campaigns/{draft.pk}/results/").json()["sent"] is None
    theirs = campaign(owner, [other_location], stages=["dormant"], name="theirs")
    assert api_as(manager).get(f"/api/v1/analytics/campaigns/{theirs.pk}/results/").status_code == 404
    assert api_as(owner).get(f"/api/v1/analytics/campaigns/{theirs.pk}/results/").status_code == 200
    assert api_as(reception).get(url).status_code == 403


def test_a_stuck_launch_is_resumed_from_the_page(client_as, manager, location):
    for _ in range(3):
        metrics(client(location), location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0"))
    campaign_launch(campaign=c, by=manager.user)
    CampaignMember.objects.filter(campaign=c).update(message=None)
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.LAUNCHING)
    web = client_as(manager)
    assert b'id="campaign-resume"' in web.get(reverse("analytics:campaign", args=[c.pk])).content
    assert web.post(reverse("analytics:campaign_launch", args=[c.pk])).status_code == 302
    c.refresh_from_db()
    assert c.status == Campaign.Status.LAUNCHED
    assert OutboundMessage.objects.count() == 3  # the same keys: the same three messages
    assert CampaignMember.objects.filter(campaign=c, message__isnull=False).count() == 3


def test_the_beat_resumes_a_launch_stuck_for_ten_minutes(manager, location):
    from analytics.tasks import campaigns_resume

    people = [client(location) for _ in range(5)]
    for p in people:
        metrics(p, location, last=120)
    c = campaign(manager, [location], stages=["dormant"], holdout_share=Decimal("0.2"), seed=7)
    campaign_launch(campaign=c, by=manager.user)
    first = set(OutboundMessage.objects.values_list("pk", flat=True))
    CampaignMember.objects.filter(campaign=c, group=G.SENT).update(message=None, coupon=None)
    Campaign.objects.filter(pk=c.pk).update(status=Campaign.Status.LAUNCHING)
    assert campaigns_resume() == 0  # launched just now: the request or its task may still be sending
    Campaign.objects.filter(pk=c.pk).update(launched_at=timezone.now() - timedelta(minutes=11))
    assert campaigns_resume() == 4
    c.refresh_from_db()
    assert c.status == Campaign.Status.LAUNCHED
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) == first


def test_a_client_picked_by_hand_is_taken_out_of_a_draft(client_as, manager, location):
    picked, chosen = client(location), client(location)
    metrics(chosen, location, last=120)
    c = campaign(manager, [location], stages=["dormant"])
    campaigns.campaign_add_client(campaign=c, customer=picked, by=manager.user)
    browser = client_as(manager)
    page = browser.get(reverse("analytics:campaign", args=[c.pk])).content.decode()
    assert f'data-picked="{picked.pk}"' in page
    url = reverse("analytics:campaign_remove_client", args=[c.pk])
    assert browser.post(url, {"customer": picked.pk}).status_code == 302
    assert not CampaignMember.objects.filter(campaign=c, customer=picked).exists()
    # a client the filters choose is not "picked": nothing to take out, nothing changes
    assert browser.post(url, {"customer": chosen.pk}).status_code == 302
    assert browser.post(url, {"customer": "1\x00"}).status_code == 400
    assert browser.post(url, {"customer": "x"}).status_code == 400
    # a launched campaign keeps its members
    campaigns.campaign_add_client(campaign=c, customer=picked, by=manager.user)
    campaign_launch(campaign=c, by=manager.user)
    browser.post(url, {"customer": picked.pk})
    assert CampaignMember.objects.filter(campaign=c, customer=picked).exists()
