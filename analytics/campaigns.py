"""Win-back and birthday campaigns (沉睡唤醒、生日关怀) with a measured holdout (docs/campaigns.md).

A manager sets an audience (lifecycle stage, at risk, expected value, spending score, tags,
membership tier, last service, birthday soon; within locations) plus clients picked by hand from
the at-risk list, an offer (a coupon) and a message kind and channel. Before the launch the page
previews how many clients that is and who cannot be reached (do-not-contact, no address on the
channel, no marketing consent, the marketing cap reached now). At the launch the reachable
clients are drawn into a holdout (`round(n × share)`, half up, by `numpy.random.default_rng(seed)`)
that gets nothing and a group that gets the coupon and the message through the outbox, keyed
`campaign:<campaign>:<client>` (a retried launch sends nothing twice). The results compare the
two groups as visits come in: returns within 30 and 60 days, coupons redeemed, revenue, and the
lift with a 95% confidence interval.

Reads are set-based: the audience and the preview are one query each whatever the size, the
results one aggregate query."""

from __future__ import annotations

import calendar
import math
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import locations_for, sees_all_locations
from accounts.models import Location
from analytics import at_risk as risk
from analytics.metrics import counted_visits
from analytics.models import Campaign, CampaignMember, CustomerMetrics
from appointments.models import VisitLine
from appointments.selectors import visits_counted
from customers.models import Customer
from customers.selectors import customers_for_bulk, customers_of_locations
from messaging import channels, kinds
from messaging.models import OutboundMessage
from salon_crm.errors import Conflict

G = CampaignMember.Group
ZERO = Decimal("0")
Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
INLINE_LIMIT = 300  # larger launches send from a Celery task (analytics.campaign_send)
SEND_CHUNK = 200  # members per transaction while sending
BIRTHDAY_MAX_DAYS = 365

# ---- the message kind ------------------------------------------------------------------------------

WINBACK = "winback_offer"

kinds.register_kind(
    kinds.Kind(
        WINBACK,
        gettext_lazy("Win-back offer and coupon"),
        marketing=True,
        context=(*kinds.COMMON, "code", "value", "valid_until", "unsubscribe_url"),
        defaults=kinds._same(
            "{{ salon }}: we miss you, {{ client_name }}! {{ value }} off your next visit with code "
            "{{ code }}, until {{ valid_until }}.{% if salon_phone %} Book: {{ salon_phone }}.{% endif %} "
            "Unsubscribe: {{ unsubscribe_url }}",
            "【{{ salon }}】{{ client_name }}，好久不见，我们很想念您！送您 {{ value }} 优惠券，券码 {{ code }}，"
            "有效期至 {{ valid_until }}。{% if salon_phone %}预约电话：{{ salon_phone }}。{% endif %}"
            "退订：{{ unsubscribe_url }}",
            "We miss you at {{ salon }}",
            "{{ salon }}想念您",
        ),
    )
)


def message_kinds() -> list[kinds.Kind]:
    """The kinds a campaign may send: the marketing ones (consent and caps apply)."""
    return [k for k in kinds.kinds() if k.marketing]


# ---- who sees which campaign ---------------------------------------------------------------------


def campaigns_for(user) -> QuerySet[Campaign]:
    """Owners: every campaign. Others: the campaigns whose locations are all theirs (a campaign
    with no location is the whole chain's: owners only)."""
    qs = Campaign.objects.all()
    if sees_all_locations(user):
        return qs
    through = Campaign.locations.through.objects.filter(campaign_id=OuterRef("pk"))
    mine = locations_for(user)
    return qs.filter(Exists(through)).exclude(Exists(through.exclude(location__in=mine)))


def campaign_get_for_user(*, user, pk: int) -> Campaign:
    """The campaign if the user may see it; missing and forbidden are both 404."""
    return get_object_or_404(campaigns_for(user), pk=pk)


# ---- the audience ----------------------------------------------------------------------------------


def birthday_q(as_of: date, days: int) -> Q:
    """Clients whose birthday falls on as_of or one of the `days` days after it (year wrap
    included). A 29 February birthday is kept on 28 February in a common year (as the
    nightly birthday coupons do)."""
    if days >= BIRTHDAY_MAX_DAYS:
        return Q(birthday__isnull=False)
    by_month: dict[int, set[int]] = defaultdict(set)
    for i in range(days + 1):
        d = as_of + timedelta(days=i)
        by_month[d.month].add(d.day)
        if d.month == 2 and d.day == 28 and not calendar.isleap(d.year):
            by_month[2].add(29)
    q = Q()
    for month, month_days in sorted(by_month.items()):
        q |= Q(birthday__month=month, birthday__day__in=sorted(month_days))
    return q


def _conditions(campaign: Campaign, as_of: date) -> Q | None:
    """Every audience condition the campaign gives, all of which must hold; None: none given
    (then only the clients picked by hand are in the audience)."""
    parts: list[Q] = []
    if campaign.stages:
        staged = risk.with_stage(CustomerMetrics.objects.all(), as_of).filter(stage__in=campaign.stages)
        parts.append(Q(pk__in=staged.values("customer_id")))
    if campaign.at_risk:
        rows = risk.at_risk(customers=Customer.objects.all(), as_of=as_of)
        parts.append(Q(pk__in=rows.order_by().values("customer_id")))
    if campaign.min_clv is not None:
        parts.append(Q(churn__clv_365d__gte=float(campaign.min_clv)))
    if campaign.min_monetary_score:
        parts.append(Q(metrics__monetary_score__gte=campaign.min_monetary_score))
    if campaign.pk:
        tag_ids = [t.pk for t in campaign.tags.all()]  # prefetched by the caller, or one query each
        tier_ids = [t.pk for t in campaign.tiers.all()]
    else:
        tag_ids, tier_ids = [], []
    if tag_ids:  # any of the tags
        tagged = Customer.tags.through.objects.filter(customer_id=OuterRef("pk"), tag_id__in=tag_ids)
        parts.append(Q(Exists(tagged)))
    if tier_ids:  # the loyalty account's current tier is one of them
        parts.append(Q(loyalty__tier_id__in=tier_ids))
    if campaign.last_service_id:
        last_visit = (
            visits_counted()
            .filter(customer=OuterRef(OuterRef("pk")))
            .order_by("-started_at", "-pk")
            .values("pk")
        )[:1]
        lines = VisitLine.objects.filter(visit_id=Subquery(last_visit), service_id=campaign.last_service_id)
        parts.append(Q(Exists(lines)))
    if campaign.birthday_within_days is not None:
        parts.append(birthday_q(as_of, campaign.birthday_within_days))
    if not parts:
        return None
    q = parts[0]
    for part in parts[1:]:
        q &= part
    return q


def audience(campaign: Campaign, *, user, as_of: date) -> QuerySet[Customer]:
    """The clients the campaign is for, as this user may take them in bulk
    (customers_for_bulk) and, when the campaign names locations, who belong to one of them:
    those meeting every condition given, plus those picked by hand. One query when evaluated."""
    scope = customers_for_bulk(user=user)
    if campaign.pk:
        named = list(campaign.locations.all())
        if named:
            scope = scope.filter(pk__in=customers_of_locations(named).values("pk"))
        picked = Exists(CampaignMember.objects.filter(campaign_id=campaign.pk, customer_id=OuterRef("pk")))
    else:
        picked = None
    conditions = _conditions(campaign, as_of)
    if conditions is None:
        return scope.filter(picked) if picked is not None else scope.none()
    return scope.filter(conditions | Q(picked)) if picked is not None else scope.filter(conditions)


# ---- who cannot be reached ---------------------------------------------------------------------------

DO_NOT_CONTACT, NO_ADDRESS, NO_CONSENT, CAP = "do_not_contact", "no_address", "no_consent", "cap"
REASONS = (DO_NOT_CONTACT, NO_ADDRESS, NO_CONSENT, CAP)


def reason_labels() -> dict[str, str]:
    count, days = settings.MESSAGING_MARKETING_CAP
    return {
        DO_NOT_CONTACT: _("Asked not to be contacted"),
        NO_ADDRESS: _("No address on the channel"),
        NO_CONSENT: _("No marketing consent"),
        CAP: _("Marketing cap reached (%(n)s in %(d)s days)") % {"n": count, "d": days},
    }


def _address_q(channel: str) -> Q:
    if channel == "sms":
        return Q(phone__isnull=False) & ~Q(phone="")
    if channel == "email":
        return ~Q(email="")
    if channel == "wechat":
        return Q(wechat_openid__isnull=False) & ~Q(wechat_openid="")
    return Q(pk__in=[])


def with_reason(qs: QuerySet[Customer], channel: str, *, now=None) -> QuerySet[Customer]:
    """Annotate `reason`: why a marketing message to the client on `channel` ('' = the best
    one per client, as messaging.services.choose_channel picks it) would be suppressed now,
    '' if it would go out. The same rules, in the same order, as messaging.dispatch.suppression:
    do-not-contact, then no address on a configured channel, then no marketing consent on a
    channel that reaches them, then the marketing cap (messages sent in its window)."""
    now = now or timezone.now()
    configured = channels.configured()
    wanted = [channel] if channel else configured
    wanted = [c for c in wanted if c in configured]
    count, days = settings.MESSAGING_MARKETING_CAP
    recent = (
        OutboundMessage.objects.filter(
            customer_id=OuterRef("pk"),
            marketing=True,
            status__in=[
                OutboundMessage.Status.SENT,
                OutboundMessage.Status.DELIVERED,
                OutboundMessage.Status.SENDING,
                OutboundMessage.Status.UNKNOWN,
            ],
            sent_at__gte=now - timedelta(days=days),
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    whens = [When(do_not_contact=True, then=Value(DO_NOT_CONTACT))]
    if not wanted:
        return qs.annotate(
            reason=Case(*whens, default=Value(NO_ADDRESS), output_field=CharField()),
        )
    address = Q()
    consent = Q()
    for c in wanted:
        address |= _address_q(c)
        consent |= _address_q(c) & Q(**{f"consent_{c}": True})
    whens += [
        When(~address, then=Value(NO_ADDRESS)),
        When(~consent, then=Value(NO_CONSENT)),
        When(recent_marketing__gte=count, then=Value(CAP)),
    ]
    return qs.annotate(
        recent_marketing=Coalesce(Subquery(recent, output_field=IntegerField()), Value(0)),
        reason=Case(*whens, default=Value(""), output_field=CharField()),
    )


def holdout_size(n: int, share) -> int:
    """round(n × share), halves up (so the size never depends on banker's rounding)."""
    return int((Decimal(n) * Decimal(str(share))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def preview(campaign: Campaign, *, user, as_of: date) -> dict:
    """{audience, excluded: {reason: n}, eligible, holdout, sent}: how many clients the campaign
    is for, who cannot be reached and why (each client under the first reason that holds), and
    how the reachable ones would split at a launch now. One query."""
    qs = with_reason(audience(campaign, user=user, as_of=as_of), campaign.channel)
    counts = dict(qs.order_by().values_list("reason").annotate(n=Count("pk")))
    excluded = {r: counts.get(r, 0) for r in REASONS}
    eligible = counts.get("", 0)
    held = holdout_size(eligible, campaign.holdout_share)
    return {
        "audience": sum(counts.values()),
        "excluded": excluded,
        "eligible": eligible,
        "holdout": held,
        "sent": eligible - held,
    }


# ---- writes ---------------------------------------------------------------------------------------


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _check_locations(by, locations: list[Location]) -> None:
    if sees_all_locations(by):
        return
    mine = set(locations_for(by).values_list("pk", flat=True))
    if not locations or any(loc.pk not in mine for loc in locations):
        raise ValidationError({"locations": [_("Choose one or more of your locations.")]})


@transaction.atomic
def campaign_save(*, campaign: Campaign, by, locations: list, tags: list, tiers: list) -> Campaign:
    """Create a draft (pk None) or change one. A manager's campaign names one or more of their
    locations; an owner's may name none (the whole chain). Only a draft changes."""
    _check_locations(by, locations)
    if campaign.pk is None:
        campaign.created_by = by
        campaign.created_at = timezone.now()
        campaign.seed = secrets.randbits(62)
        campaign.status = Campaign.Status.DRAFT
    elif _lock(campaign).status != Campaign.Status.DRAFT:
        raise Conflict(_("Only a draft campaign can be changed."), code="campaign_launched")
    # the model's default is the float 0.1: as a decimal of three places
    campaign.holdout_share = Decimal(str(campaign.holdout_share))
    campaign.full_clean(exclude=["locations", "tags", "tiers"])
    campaign.save()
    campaign.locations.set(locations)
    campaign.tags.set(tags)
    campaign.tiers.set(tiers)
    return campaign


@transaction.atomic
def campaign_add_client(*, campaign: Campaign, customer: Customer, by) -> CampaignMember:
    """Pick a client by hand into a draft (the at-risk list's "add to campaign"); a second pick
    changes nothing. The client must be one the user may take in bulk, and of the campaign's
    locations when it names some."""
    campaign = _lock(campaign)
    if campaign.status != Campaign.Status.DRAFT:
        raise Conflict(_("Clients can only be added to a draft campaign."), code="campaign_launched")
    if not customers_for_bulk(user=by).filter(pk=customer.pk).exists():
        raise PermissionDenied(_("Not one of your clients."))
    location_ids = list(campaign.locations.values_list("pk", flat=True))
    if location_ids:
        of_locations = customers_of_locations(Location.objects.filter(pk__in=location_ids))
        if not of_locations.filter(pk=customer.pk).exists():
            raise ValidationError(
                {"customer": [_("This client does not belong to the campaign's locations.")]}
            )
    member, _created = CampaignMember.objects.get_or_create(
        campaign=campaign, customer=customer, defaults={"group": G.PICKED, "added_at": timezone.now()}
    )
    return member


@transaction.atomic
def campaign_remove_client(*, campaign: Campaign, customer_id: int) -> bool:
    """Take a client picked by hand out of a draft (a client the filters choose stays chosen:
    change the filters). True if there was one to take out."""
    campaign = _lock(campaign)
    if campaign.status != Campaign.Status.DRAFT:
        raise Conflict(_("Clients can only be taken out of a draft campaign."), code="campaign_launched")
    removed, _detail = CampaignMember.objects.filter(
        campaign=campaign, customer_id=customer_id, group=G.PICKED
    ).delete()
    return bool(removed)


def campaign_launch(*, campaign: Campaign, by, as_of: date | None = None) -> Campaign:
    """Launch a draft: under a lock on the campaign, the reachable clients of the audience (as
    the launching user may take them) are drawn into the holdout (exactly
    round(n × holdout_share), by numpy.random.default_rng(seed) over the clients in id order) and
    the group that gets the offer; every one is stored with its group and `excluded` keeps the
    preview's counts. Then the sent group gets its coupon and message (campaign_send: in the
    request for a small audience, else in a task). A launched campaign raises Conflict; one
    still sending is resumed (the keys send nothing twice)."""
    now = timezone.now()
    as_of = as_of or timezone.localdate(now)
    with transaction.atomic():
        locked = _lock(campaign)
        if not campaigns_for(by).filter(pk=locked.pk).exists():
            raise PermissionDenied(_("Not one of your campaigns."))
        if locked.status == Campaign.Status.LAUNCHED:
            raise Conflict(_("This campaign was launched already."), code="campaign_launched")
        if locked.status == Campaign.Status.DRAFT:
            reached = with_reason(audience(locked, user=by, as_of=as_of), locked.channel, now=now)
            counts = dict(reached.order_by().values_list("reason").annotate(n=Count("pk")))
            ids = list(reached.filter(reason="").order_by("pk").values_list("pk", flat=True))
            held = holdout_size(len(ids), locked.holdout_share)
            order = np.random.default_rng(locked.seed).permutation(len(ids))
            holdout = {ids[i] for i in order[:held]}
            members = [
                CampaignMember(
                    campaign=locked,
                    customer_id=pk,
                    group=G.HOLDOUT if pk in holdout else G.SENT,
                    added_at=now,
                )
                for pk in ids
            ]
            # a client picked by hand keeps their row; the draw sets its group
            CampaignMember.objects.bulk_create(
                members,
                batch_size=1000,
                update_conflicts=True,
                unique_fields=["campaign", "customer"],
                update_fields=["group"],
            )
            locked.status = Campaign.Status.LAUNCHING
            locked.launched_at, locked.launched_by = now, by
            locked.excluded = {r: counts.get(r, 0) for r in REASONS}
            locked.save(update_fields=["status", "launched_at", "launched_by", "excluded"])
            to_send = len(ids) - held
        else:  # launching: a send that stopped part-way
            to_send = CampaignMember.objects.filter(
                campaign=locked, group=G.SENT, message__isnull=True
            ).count()
    if to_send <= INLINE_LIMIT:
        campaign_send(campaign_id=locked.pk)
    else:
        from analytics.tasks import campaign_send_task
        from salon_crm.tasks import enqueue

        enqueue(campaign_send_task, locked.pk)
    locked.refresh_from_db()
    return locked


def _member_locations(campaign: Campaign, members: list[CampaignMember]) -> dict[int, Location | None]:
    """The location each message is sent from (its salon name and phone, the delivery log a
    manager reads): the client's home location if the campaign covers it, else the location of
    their last counted visit if covered, else the campaign's first location (none for a
    chain-wide campaign: the chain's sender name)."""
    allowed = {loc.pk: loc for loc in campaign.locations.order_by("pk")}
    last_location = (
        visits_counted()
        .filter(customer_id=OuterRef("pk"))
        .order_by("-started_at", "-pk")
        .values("location_id")
    )[:1]
    rows = Customer.objects.filter(pk__in=[m.customer_id for m in members]).values_list(
        "pk", "home_location_id", Subquery(last_location)
    )
    needed = {loc for _pk, home, last in rows for loc in (home, last) if loc}
    every = allowed or {loc.pk: loc for loc in Location.objects.filter(pk__in=needed)}
    first = next(iter(allowed.values()), None)
    out: dict[int, Location | None] = {}
    for pk, home, last in rows:
        out[pk] = every.get(home) or every.get(last) or first
    return out


def campaign_send(*, campaign_id: int) -> int:
    """Issue the coupon and plan the message of every sent member that has none yet, a chunk
    per transaction under the campaign's lock (two runs never take the same member); then the
    campaign is launched. Safe to retry: coupons and messages are keyed by (campaign, client).
    Returns how many members were handled."""
    from loyalty.cards import coupon_issue
    from loyalty.models import Coupon
    from loyalty.selectors import money_text
    from messaging.services import message_enqueue

    done = 0
    while True:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
            if campaign.status == Campaign.Status.DRAFT:
                return done
            batch = list(
                CampaignMember.objects.filter(campaign=campaign, group=G.SENT, message__isnull=True)
                .select_related("customer")
                .order_by("pk")[:SEND_CHUNK]
            )
            if not batch:
                Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.LAUNCHING).update(
                    status=Campaign.Status.LAUNCHED
                )
                return done
            where = _member_locations(campaign, batch)
            launch_day = timezone.localdate(campaign.launched_at)
            valid_until = launch_day + timedelta(days=campaign.coupon_valid_days)
            coupon_kind = (
                Coupon.Kind.BIRTHDAY if campaign.kind == Campaign.Kind.BIRTHDAY else Coupon.Kind.WINBACK
            )
            for member in batch:
                key = f"campaign:{campaign.pk}:{member.customer_id}"
                context = {"code": "", "value": "", "valid_until": ""}
                if campaign.coupon_value:
                    coupon = coupon_issue(
                        customer=member.customer,
                        kind=coupon_kind,
                        value=campaign.coupon_value,
                        valid_from=launch_day,
                        valid_until=valid_until,
                        min_spend=campaign.coupon_min_spend,
                        note=_("Campaign: %(name)s") % {"name": campaign.name},
                        key=key,
                    )
                    member.coupon = coupon
                    context = {
                        "code": coupon.code,
                        "value": money_text(coupon.value),
                        "valid_until": coupon.valid_until.isoformat(),
                    }
                member.message = message_enqueue(
                    customer=member.customer,
                    kind=campaign.message_kind,
                    key=key,
                    context=context,
                    channel=campaign.channel,
                    location=where.get(member.customer_id),
                )
            CampaignMember.objects.bulk_update(batch, ["coupon", "message"])
            done += len(batch)


# ---- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    estimate: float | None
    low: float | None
    high: float | None


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval of a proportion x/n (n > 0)."""
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """The difference of two independent proportions x1/n1 − x2/n2 with Newcombe's hybrid score
    interval (Newcombe 1998, method 10: from the two Wilson intervals). It stays inside [−1, 1]
    and behaves with small groups and zero counts, where Wald's does not."""
    if not n1 or not n2:
        return Interval(None, None, None)
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return Interval(
        d,
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def welch(s1: float, ss1: float, n1: int, s2: float, ss2: float, n2: int) -> Interval:
    """The difference of two means (from each group's sum and sum of squares) with Welch's t
    interval (unequal variances, Welch–Satterthwaite degrees of freedom). No interval with
    fewer than two members in a group."""
    if not n1 or not n2:
        return Interval(None, None, None)
    m1, m2 = s1 / n1, s2 / n2
    d = m1 - m2
    if n1 < 2 or n2 < 2:
        return Interval(d, None, None)
    v1 = max(0.0, (ss1 - n1 * m1 * m1) / (n1 - 1))
    v2 = max(0.0, (ss2 - n2 * m2 * m2) / (n2 - 1))
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    if se == 0:
        return Interval(d, d, d)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    from scipy.stats import t

    half = float(t.ppf(0.975, df)) * se
    return Interval(d, d - half, d + half)


WINDOWS = (30, 60)


def results(campaign: Campaign, *, as_of: date | None = None) -> dict | None:
    """For a launched campaign, per group (sent, holdout): members, returned within 30 and 60
    days, coupons redeemed, revenue in 60 days and per member; the lift of the sent group over
    the holdout with a 95% interval (rates: Newcombe's hybrid score interval; revenue per
    member: Welch's t). A return is a counted visit started at or after the launch on a local
    day up to launch day + 29 (+ 59); the windows are reported as far as they have run
    (`windows`: days elapsed and whether complete). Read live from the visits, so the page
    changes as visits come in. One query."""
    if campaign.launched_at is None:
        return None
    launch_day = timezone.localdate(campaign.launched_at)
    today = as_of or timezone.localdate()
    elapsed = max(0, (today - launch_day).days + 1)

    def window(days: int):
        return counted_visits(start=launch_day, end=launch_day + timedelta(days=days - 1)).filter(
            customer_id=OuterRef("customer_id"), started_at__gte=campaign.launched_at
        )

    money = DecimalField(max_digits=14, decimal_places=2)
    revenue = window(60).order_by().values("customer_id").annotate(s=Sum("total")).values("s")
    members = CampaignMember.objects.filter(campaign=campaign, group__in=[G.SENT, G.HOLDOUT]).annotate(
        back30=Exists(window(30)),
        back60=Exists(window(60)),
        spent=Coalesce(Subquery(revenue, output_field=money), Value(ZERO), output_field=money),
    )
    rows = {
        r["group"]: r
        for r in members.order_by()
        .values("group")
        .annotate(
            n=Count("pk"),
            returned30=Count("pk", filter=Q(back30=True)),
            returned60=Count("pk", filter=Q(back60=True)),
            redeemed=Count("pk", filter=Q(coupon__status="used")),
            revenue=Sum("spent"),
            revenue_sq=Sum(
                F("spent") * F("spent"), output_field=DecimalField(max_digits=30, decimal_places=4)
            ),
        )
    }
    groups = {}
    for group in (G.SENT, G.HOLDOUT):
        r = rows.get(group) or {}
        n = r.get("n", 0)
        total = r.get("revenue") or ZERO
        groups[group] = {
            "members": n,
            "returned30": r.get("returned30", 0),
            "returned60": r.get("returned60", 0),
            "rate30": r.get("returned30", 0) / n if n else None,
            "rate60": r.get("returned60", 0) / n if n else None,
            "redeemed": r.get("redeemed", 0),
            "revenue": total,
            "revenue_per_member": (total / n).quantize(Decimal("0.01")) if n else None,
            "_sq": float(r.get("revenue_sq") or 0),
        }
    sent, held = groups[G.SENT], groups[G.HOLDOUT]
    lift = {
        "rate30": newcombe(sent["returned30"], sent["members"], held["returned30"], held["members"]),
        "rate60": newcombe(sent["returned60"], sent["members"], held["returned60"], held["members"]),
        "revenue_per_member": welch(
            float(sent["revenue"]),
            sent.pop("_sq"),
            sent["members"],
            float(held["revenue"]),
            held.pop("_sq"),
            held["members"],
        ),
    }
    return {
        "launch_day": launch_day,
        "as_of": today,
        "windows": {w: {"days": min(w, elapsed), "complete": elapsed >= w} for w in WINDOWS},
        "groups": groups,
        "lift": lift,
    }
