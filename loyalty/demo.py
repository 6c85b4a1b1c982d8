"""The demo salon's loyalty programme for `manage.py seed_demo` (runs after appointments' seeder):
membership tiers, top-up rules, two package plans, and the demo clients' balances, every one
written through the real services so it agrees with the client's history:

- each completed demo visit (appointments' seeder bulk-creates them without a checkout) earns
  its points (`services.points_earn_for_visits`, set-based, once by their keys), what is past its day expires
  (`services.points_expire`) and the tiers follow the last 12 months (`tiers.tiers_review`);
- a few clients then buy at the desk through the real checkout (`visit_checkout`, walk-in sales
  today): stored-value top-ups and spends, package cards and sessions, gift cards, coupons.

Idempotent: the rules, tiers and plans are got-or-created, the earnings carry their keys, and the
sales are skipped once a demo client has a stored-value top-up."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.db.models import Sum
from django.utils import timezone

from accounts.models import StaffMember
from appointments.demo import MARKER as VISIT_MARKER
from appointments.line_kinds import CheckoutLine
from appointments.models import Service, Visit
from appointments.services import PaymentIn, checkout_quote, visit_checkout
from customers.models import Customer
from customers.safety import customer_safety_warnings
from loyalty import cards, services, tiers
from loyalty.models import (
    Coupon,
    CustomerPackage,
    GiftCard,
    LoyaltyAccount,
    MembershipTier,
    PackagePlan,
    StoredValueEntry,
    TopUpRule,
)

# rank, name, spend in 12 months, visits in 12 months, discount %, points multiplier, benefits
TIERS = [
    (1, "银卡 Silver", "1000", 4, "0", "1", "生日券 Birthday coupon"),
    (2, "金卡 Gold", "3000", 0, "5", "1.5", "全单 95 折，积分 1.5 倍 5% off, points ×1.5"),
    (
        3,
        "钻石 Diamond",
        "8000",
        0,
        "10",
        "2",
        "全单 9 折，积分 2 倍，优先预约 10% off, points ×2, priority booking",
    ),
]
TOPUP_RULES = [("1000", "100"), ("3000", "400")]
# name, sessions, price, days valid, services covered (appointments.demo.SERVICES names)
PLANS = [
    ("烫染护理疗程 Colour & care course", 5, "2980", 365, ["染发 Colour", "烫发 Perm", "护理 Treatment"]),
    ("头皮护理 10 次 Scalp care ×10", 10, "1980", 365, ["头皮护理 Scalp care"]),
]
# The services the demo sales are of: none needs a patch test.
SALE_SERVICES = ["剪发 Cut", "护理 Treatment", "头皮护理 Scalp care", "美甲 Manicure", "洗吹 Wash & blow-dry"]
# The desk of each location: its receptionist and a stylist who works there.
DESKS = {"jingan": ("reception", "stylist_lina"), "xuhui": ("reception_xh", "stylist_tony")}
# Stored value: (top-up, how many services it then pays). Every demo sale has one payment, as
# every visit of appointments' seeder does.
TOPUPS = [
    ("3000", 2),
    ("1000", 1),
    ("1000", 1),
    ("5000", 2),
    ("1000", 0),
    ("3000", 1),
    ("2000", 1),
    ("1000", 1),
]
SALES_CLIENTS = len(TOPUPS) + 4 + 3 + 4  # top-ups, packages, gift cards (2 buyers + 1 holder), coupons


def _rules_tiers_plans(log) -> None:
    for rank, name, spend, visits, discount, multiplier, benefits in TIERS:
        MembershipTier.objects.get_or_create(
            rank=rank,
            defaults={
                "name": name,
                "min_spend": Decimal(spend),
                "min_visits": visits,
                "discount_percent": Decimal(discount),
                "points_multiplier": Decimal(multiplier),
                "benefits": benefits,
            },
        )
    for pay, bonus in TOPUP_RULES:
        TopUpRule.objects.get_or_create(pay_at_least=Decimal(pay), defaults={"bonus": Decimal(bonus)})
    for name, sessions, price, days, covered in PLANS:
        plan, created = PackagePlan.objects.get_or_create(
            name=name, defaults={"sessions": sessions, "price": Decimal(price), "validity_days": days}
        )
        if created:
            plan.services.set(Service.objects.filter(name__in=covered))
    log(
        f"loyalty: {MembershipTier.objects.count()} tiers, {TopUpRule.objects.count()} top-up rules, "
        f"{PackagePlan.objects.count()} package plans"
    )


def _earn_history() -> int:
    """Points for every completed demo visit not yet earned (set-based, once by their keys)."""
    visits = Visit.objects.filter(
        external_id__startswith=VISIT_MARKER, status=Visit.Status.COMPLETED
    ).select_related("location")
    return services.points_earn_for_visits(list(visits))


@dataclass
class _Desk:
    location: object
    by: object  # the receptionist's user
    stylist: StaffMember


def _desks(ctx) -> dict[str, _Desk]:
    desks = {}
    for code, (reception, stylist) in DESKS.items():
        location = ctx.locations.get(code)
        front = ctx.staff.get(reception) or StaffMember.objects.filter(user__username=reception).first()
        hair = ctx.staff.get(stylist) or StaffMember.objects.filter(user__username=stylist).first()
        if location is not None and front is not None and hair is not None:
            desks[code] = _Desk(location, front.user, hair)
    return desks


def _sell(desk: _Desk, customer: Customer, lines: list[CheckoutLine], pay) -> Visit:
    """A walk-in sale at `desk`: pay = [(method, amount or None for the rest, reference?)]."""
    rest = checkout_quote(lines=lines, customer=customer).total
    payments = []
    for method, amount, *reference in pay:
        amount = rest if amount is None else Decimal(amount)
        rest -= amount
        payments.append(PaymentIn(method, amount, *reference))
    return visit_checkout(
        location=desk.location, customer=customer, by=desk.by, lines=lines, payments=payments
    )


def _service_line(desk: _Desk, service: Service) -> CheckoutLine:
    return CheckoutLine(kind="service", service=service, staff=desk.stylist)


def _sales_clients(catalogue: dict[str, Service]) -> list[Customer]:
    """Demo clients with a visit and no safety warning for the services sold: the same ones each
    run (ordered by external_id), 张三 (demo-0001, her allergy) never among them."""
    with_visits = Visit.objects.filter(external_id__startswith=VISIT_MARKER).values("customer_id")
    candidates = Customer.objects.filter(
        external_id__startswith="demo-", erased_at__isnull=True, pk__in=with_visits
    ).order_by("external_id")
    services_sold = list(catalogue.values())
    chosen = []
    for customer in candidates:
        if customer_safety_warnings(customer, services_sold):
            continue
        chosen.append(customer)
        if len(chosen) == SALES_CLIENTS:
            break
    return chosen


def _sales(ctx, desks: dict[str, _Desk], catalogue: dict[str, Service]) -> str:
    clients = _sales_clients(catalogue)
    if len(clients) < SALES_CLIENTS or len(desks) < len(DESKS):
        return "not enough demo clients or staff for the sales"
    desk_list = [desks[code] for code in DESKS]
    rotation = [catalogue[name] for name in SALE_SERVICES]
    sold = count()

    def desk_for(i: int) -> _Desk:
        return desk_list[i % len(desk_list)]

    def next_service() -> Service:
        return rotation[next(sold) % len(rotation)]

    # Stored value: a top-up, then a service or two paid with it.
    for i, (amount, spends) in enumerate(TOPUPS):
        customer, desk = clients[i], desk_for(i)
        _sell(
            desk, customer, [CheckoutLine(kind="topup", unit_price=Decimal(amount))], [("wechat_pay", amount)]
        )
        for _spend in range(spends):
            _sell(desk, customer, [_service_line(desk, next_service())], [("stored_value", None)])
    clients = clients[len(TOPUPS) :]

    # Package cards: bought, then a session or two used.
    plans = {p.name: p for p in PackagePlan.objects.filter(name__in=[p[0] for p in PLANS])}
    course, scalp = plans[PLANS[0][0]], plans[PLANS[1][0]]
    for i, (plan, service, used) in enumerate(
        [
            (course, catalogue["护理 Treatment"], 2),
            (course, catalogue["护理 Treatment"], 1),
            (scalp, catalogue["头皮护理 Scalp care"], 3),
            (scalp, catalogue["头皮护理 Scalp care"], 1),
        ]
    ):
        customer, desk = clients[i], desk_for(i)
        _sell(desk, customer, [CheckoutLine(kind="package", ref=str(plan.pk))], [("alipay", str(plan.price))])
        for _session in range(used):
            _sell(desk, customer, [_service_line(desk, service)], [("package", None)])
    clients = clients[4:]

    # Gift cards: two sold; a friend pays a cut with the first one.
    buyer, other, holder = clients[:3]
    desk = desk_list[0]
    _sell(desk, buyer, [CheckoutLine(kind="gift_card", unit_price=Decimal("1000"))], [("wechat_pay", "1000")])
    card = GiftCard.objects.filter(buyer=buyer).order_by("-pk").first()
    _sell(desk, other, [CheckoutLine(kind="gift_card", unit_price=Decimal("500"))], [("card", "500")])
    _sell(desk, holder, [_service_line(desk, catalogue["剪发 Cut"])], [("gift_card", None, card.code)])
    clients = clients[3:]

    # Coupons, given by the manager: a free wash & blow-dry (used at once), two ¥50 off ¥200,
    # and a win-back one.
    manager = ctx.staff.get("manager") or StaffMember.objects.filter(user__username="manager").first()
    today = timezone.localdate()
    wash = catalogue["洗吹 Wash & blow-dry"]
    free_wash = cards.coupon_issue(
        customer=clients[0],
        kind=Coupon.Kind.MANUAL,
        value=wash.price,
        service=wash,
        valid_until=today + timedelta(days=30),
        note="免费洗吹 Free wash & blow-dry",
        by=manager.user if manager else None,
        key=f"demo:coupon:{clients[0].external_id}",
    )
    for customer in clients[1:3]:
        cards.coupon_issue(
            customer=customer,
            kind=Coupon.Kind.MANUAL,
            value="50",
            min_spend="200",
            valid_until=today + timedelta(days=60),
            note="老客回馈 Thank-you coupon",
            by=manager.user if manager else None,
            key=f"demo:coupon:{customer.external_id}",
        )
    cards.coupon_issue(
        customer=clients[3],
        kind=Coupon.Kind.WINBACK,
        value="80",
        min_spend="250",
        valid_until=today + timedelta(days=30),
        note="好久不见 We miss you",
        key=f"demo:winback:{clients[3].external_id}",
    )
    _sell(desk, clients[0], [_service_line(desk, wash)], [("coupon", None, free_wash.code)])
    return ""


def seed_loyalty(ctx) -> None:
    _rules_tiers_plans(ctx.log)
    earned = _earn_history()
    today = timezone.localdate()
    expired = services.points_expire(today=today)
    review = tiers.tiers_review()
    catalogue = {s.name: s for s in Service.objects.filter(name__in=SALE_SERVICES)}
    if StoredValueEntry.objects.filter(
        kind=StoredValueEntry.Kind.TOPUP, account__customer__external_id__startswith="demo-"
    ).exists():
        ctx.log("loyalty: demo sales already made")
    elif len(catalogue) < len(SALE_SERVICES):
        ctx.log("loyalty: no demo catalogue, no demo sales")
    else:
        skipped = _sales(ctx, _desks(ctx), catalogue)
        if skipped:
            ctx.log(f"loyalty: {skipped}")
        tiers.tiers_review()
    accounts = LoyaltyAccount.objects.filter(customer__external_id__startswith="demo-")
    totals = accounts.aggregate(points=Sum("points"), principal=Sum("principal"), bonus=Sum("bonus"))
    stored = Decimal(totals["principal"] or 0) + Decimal(totals["bonus"] or 0)
    ctx.log(
        f"loyalty: {earned} visits earned points, {expired} accounts had points expire, tiers "
        f"{review['up']} up / {review['down']} down; {accounts.count()} accounts, "
        f"{totals['points'] or 0} points, stored value {stored:.2f}, "
        f"{CustomerPackage.objects.filter(account__in=accounts).count()} packages, "
        f"{GiftCard.objects.count()} gift cards, {Coupon.objects.count()} coupons"
    )
