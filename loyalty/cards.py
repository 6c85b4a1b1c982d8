"""Package cards (疗程卡/次卡), gift cards and coupons: what checkout sells and takes as payment
besides points and stored value (docs/loyalty.md). Same rules as loyalty.services: every
write locks its row, moves the balance and appends its ledger row in one transaction, and a
write that must happen once carries a unique key.

- A package is sold as a checkout line of kind "package" (`ref`: the plan's id) and pays one
  session as payment method "package": the payment's amount is the whole amount of one covered
  service line of the visit (`reference`: the package's id, or empty for the covering package
  that expires first). Revenue is recognised per session used (price ÷ sessions; the last
  session takes the remainder cent) and at expiry for the sessions left.
- A gift card is sold as a line of kind "gift_card" for a typed amount; its code is printed on
  the receipt; payment method "gift_card" with the code as `reference` pays from its balance.
- A coupon is a single-use code worth a fixed amount: payment method "coupon" with the code as
  `reference`, for its own client (or anyone, when it has none), within its dates, on a sale of
  at least its minimum spend, up to what its service or category costs in the sale."""

import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Payment, Visit, VisitLine
from appointments.services import rules
from customers.models import Customer
from loyalty.models import (
    Coupon,
    CustomerPackage,
    GiftCard,
    GiftCardEntry,
    LoyaltySettings,
    PackageEntry,
    PackagePlan,
)
from loyalty.services import MONEY_PUT_ASIDE, _sale_limit, _today, sale_account

ZERO = Decimal("0")
PACKAGE = "package"  # line kind and payment method
GIFT_CARD = "gift_card"  # line kind and payment method
COUPON = "coupon"  # payment method
GIFT_CARD_YEARS = 3
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the desk


def new_code(prefix: str) -> str:
    """GC-7KQ2-M9XD: a random code (40 bits), easy to read out."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"{prefix}-{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    return "".join((code or "").split()).upper()[:20]


def _now():
    return timezone.now()


# ---- packages ---------------------------------------------------------------------------------


def _plan(line) -> PackagePlan:
    ref = str(line.ref or "").strip()
    plan = PackagePlan.objects.filter(pk=int(ref), active=True).first() if ref.isdigit() else None
    if plan is None:
        raise ValidationError({"lines": [_("Choose a package that is on sale.")]})
    return plan


def package_price(line) -> tuple[str, Decimal]:
    if line.quantity != 1:
        raise ValidationError({"lines": [_("Sell one package per line.")]})
    plan = _plan(line)
    return _("Package: %(name)s (%(n)s sessions)") % {"name": plan.name, "n": plan.sessions}, plan.price


def package_sold(visit: Visit, visit_line: VisitLine, line) -> None:
    plan = _plan(line)
    account = sale_account(visit)
    package = CustomerPackage.objects.create(
        account=account,
        plan=plan,
        name=plan.name,
        sessions_total=plan.sessions,
        sessions_left=plan.sessions,
        price=visit_line.amount,
        expires_on=rules.local_date(visit.location, visit.completed_at or _now())
        + timedelta(days=plan.validity_days),
        visit_line=visit_line,
        location=visit.location,
        created_at=_now(),
    )
    PackageEntry.objects.create(
        package=package,
        kind=PackageEntry.Kind.SOLD,
        sessions=plan.sessions,
        value=ZERO,
        visit=visit,
        location=visit.location,
        key=f"package:line:{visit_line.pk}",
        created_by=visit.created_by,
        created_at=_now(),
    )


def package_voided(visit: Visit, visit_line: VisitLine) -> None:
    package = CustomerPackage.objects.select_for_update().filter(visit_line=visit_line).first()
    if package is None or package.status == CustomerPackage.Status.VOIDED:
        return
    if package.sessions_left != package.sessions_total:
        raise ValidationError(
            {
                "reason": [
                    _("Sessions of this package have been used: void those visits first, or keep the sale.")
                ]
            }
        )
    PackageEntry.objects.create(
        package=package,
        kind=PackageEntry.Kind.REVERSE,
        sessions=-package.sessions_left,
        value=ZERO,
        visit=visit,
        location=visit.location,
        key=f"package:unsold:{visit_line.pk}",
        created_by=visit.voided_by,
        created_at=_now(),
    )
    package.sessions_left = 0
    package.status = CustomerPackage.Status.VOIDED
    package.save(update_fields=["sessions_left", "status"])


def _service_lines(visit: Visit) -> list[VisitLine]:
    return list(visit.lines.filter(kind=VisitLine.Kind.SERVICE, service__isnull=False).order_by("pk"))


def usable_packages(customer: Customer, *, on: date, service_ids=None):
    qs = CustomerPackage.objects.filter(
        account__customer=customer,
        status=CustomerPackage.Status.ACTIVE,
        sessions_left__gt=0,
        expires_on__gte=on,
    )
    if service_ids is not None:  # a subquery, not a join: no duplicate rows, FOR UPDATE allowed
        qs = qs.filter(plan__in=PackagePlan.objects.filter(services__in=list(service_ids)).values("pk"))
    return qs.order_by("expires_on", "pk")


def package_charge(visit: Visit, payment: Payment) -> None:
    """One session pays one covered service line in full."""
    _sale_limit(visit, PACKAGE, payment)
    today = _today(visit.location)
    # The service lines this payment may pay: of its amount, less one for each earlier package
    # payment of the visit of the same amount (each session pays its own line).
    earlier = visit.payments.filter(method=PACKAGE, pk__lt=payment.pk, amount=payment.amount).count()
    open_lines = [line for line in _service_lines(visit) if line.amount == payment.amount][earlier:]
    if not open_lines:
        raise ValidationError(
            {"payments": [_("A package session pays one service in full: give that service's amount.")]}
        )
    reference = str(payment.reference or "").strip()
    chosen = None
    for line in open_lines:
        candidates = usable_packages(visit.customer, on=today, service_ids=[line.service_id])
        if reference:
            candidates = candidates.filter(pk=int(reference)) if reference.isdigit() else candidates.none()
        chosen = candidates.select_for_update(of=("self",)).first()
        if chosen is not None:
            break
    if chosen is None:
        raise ValidationError(
            {
                "payments": [
                    _("%(name)s has no package with a session left for this service.")
                    % {"name": visit.customer.name}
                ]
            }
        )
    chosen.sessions_left -= 1
    last = chosen.sessions_left == 0
    if last:
        chosen.status = CustomerPackage.Status.USED_UP
    chosen.save(update_fields=["sessions_left", "status"])
    PackageEntry.objects.create(
        package=chosen,
        kind=PackageEntry.Kind.USED,
        sessions=-1,
        value=chosen.session_value(last=last),
        visit=visit,
        payment=payment,
        location=visit.location,
        key=f"package:payment:{payment.pk}",
        created_by=visit.created_by,
        created_at=_now(),
    )


def package_refund(visit: Visit, payment: Payment) -> None:
    used = PackageEntry.objects.filter(key=f"package:payment:{payment.pk}").first()
    key = f"package:unpaid:{payment.pk}"
    if used is None or PackageEntry.objects.filter(key=key).exists():
        return
    package = CustomerPackage.objects.select_for_update().get(pk=used.package_id)
    package.sessions_left += 1
    if package.status == CustomerPackage.Status.USED_UP:
        package.status = CustomerPackage.Status.ACTIVE
    package.save(update_fields=["sessions_left", "status"])
    PackageEntry.objects.create(
        package=package,
        kind=PackageEntry.Kind.REVERSE,
        sessions=1,
        value=-used.value,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=key,
        created_by=visit.voided_by,
        created_at=_now(),
    )


def packages_expire(*, today: date | None = None) -> int:
    """Nightly: packages past their last day lose the sessions left; their value left is
    recognised as revenue then (the ledger's `value`)."""
    today = today or timezone.localdate()
    done = 0
    ids = list(
        CustomerPackage.objects.filter(
            status=CustomerPackage.Status.ACTIVE, expires_on__lt=today, sessions_left__gt=0
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            package = CustomerPackage.objects.select_for_update().get(pk=pk)
            if package.status != CustomerPackage.Status.ACTIVE or not package.sessions_left:
                continue
            recognised = package.entries.aggregate(v=Sum("value"))["v"] or ZERO
            PackageEntry.objects.create(
                package=package,
                kind=PackageEntry.Kind.EXPIRE,
                sessions=-package.sessions_left,
                value=package.price - recognised,
                key=f"package:expired:{package.pk}",
                created_at=_now(),
            )
            package.sessions_left = 0
            package.status = CustomerPackage.Status.EXPIRED
            package.save(update_fields=["sessions_left", "status"])
            done += 1
    return done


# ---- gift cards -------------------------------------------------------------------------------


def gift_card_price(line) -> tuple[str, Decimal | None]:
    if line.quantity != 1:
        raise ValidationError({"lines": [_("Sell one gift card per line.")]})
    if line.unit_price is not None and line.unit_price <= 0:
        raise ValidationError({"lines": [_("A gift card must be worth more than zero.")]})
    if line.discount:
        raise ValidationError({"lines": [_("A gift card is not discounted.")]})
    return _("Gift card"), None


def gift_card_sold(visit: Visit, visit_line: VisitLine, line) -> None:
    if visit.discount:
        raise ValidationError({"discount": [_("A sale with a gift card takes no visit discount.")]})
    sold_on = rules.local_date(visit.location, visit.completed_at or _now())
    while True:
        code = new_code("GC")
        if not GiftCard.objects.filter(code=code).exists():
            break
    card = GiftCard.objects.create(
        code=code,
        initial=visit_line.amount,
        balance=visit_line.amount,
        expires_on=sold_on.replace(year=sold_on.year + GIFT_CARD_YEARS)
        if not (sold_on.month == 2 and sold_on.day == 29)
        else sold_on + timedelta(days=365 * GIFT_CARD_YEARS),
        buyer=visit.customer,
        visit_line=visit_line,
        location=visit.location,
        created_at=_now(),
    )
    GiftCardEntry.objects.create(
        card=card,
        kind=GiftCardEntry.Kind.SOLD,
        amount=card.initial,
        visit=visit,
        location=visit.location,
        key=f"giftcard:line:{visit_line.pk}",
        created_at=_now(),
    )


def gift_card_voided(visit: Visit, visit_line: VisitLine) -> None:
    card = GiftCard.objects.select_for_update().filter(visit_line=visit_line).first()
    if card is None or card.voided:
        return
    if card.balance != card.initial:
        raise ValidationError(
            {"reason": [_("Gift card %(code)s has been used: it cannot be voided.") % {"code": card.code}]}
        )
    GiftCardEntry.objects.create(
        card=card,
        kind=GiftCardEntry.Kind.REVERSE,
        amount=-card.balance,
        visit=visit,
        location=visit.location,
        key=f"giftcard:unsold:{visit_line.pk}",
        created_at=_now(),
    )
    card.balance = ZERO
    card.voided = True
    card.save(update_fields=["balance", "voided"])


def gift_card_charge(visit: Visit, payment: Payment) -> None:
    _sale_limit(visit, GIFT_CARD, payment)
    code = normalise_code(payment.reference)
    card = GiftCard.objects.select_for_update().filter(code=code).first() if code else None
    if card is None or card.voided:
        raise ValidationError(
            {"payments": [_("No gift card has the code %(code)s.") % {"code": code or "—"}]}
        )
    today = _today(visit.location)
    if card.expires_on and card.expires_on < today:
        raise ValidationError(
            {
                "payments": [
                    _("Gift card %(code)s expired on %(day)s.") % {"code": code, "day": card.expires_on}
                ]
            }
        )
    if payment.amount > card.balance:
        raise ValidationError(
            {"payments": [_("Gift card %(code)s has %(have)s left.") % {"code": code, "have": card.balance}]}
        )
    GiftCard.objects.filter(pk=card.pk).update(balance=F("balance") - payment.amount)
    GiftCardEntry.objects.create(
        card=card,
        kind=GiftCardEntry.Kind.SPEND,
        amount=-payment.amount,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=f"giftcard:payment:{payment.pk}",
        created_at=_now(),
    )


def gift_card_refund(visit: Visit, payment: Payment) -> None:
    spent = GiftCardEntry.objects.filter(key=f"giftcard:payment:{payment.pk}").first()
    key = f"giftcard:unpaid:{payment.pk}"
    if spent is None or GiftCardEntry.objects.filter(key=key).exists():
        return
    card = GiftCard.objects.select_for_update().get(pk=spent.card_id)
    GiftCard.objects.filter(pk=card.pk).update(balance=F("balance") - spent.amount)
    GiftCardEntry.objects.create(
        card=card,
        kind=GiftCardEntry.Kind.REVERSE,
        amount=-spent.amount,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=key,
        created_at=_now(),
    )


def gift_card_lookup(code: str) -> GiftCard | None:
    return GiftCard.objects.filter(code=normalise_code(code), voided=False).first()


# ---- coupons ----------------------------------------------------------------------------------


@transaction.atomic
def coupon_issue(
    *,
    customer: Customer | None,
    kind: str,
    value,
    valid_until: date,
    valid_from: date | None = None,
    min_spend=ZERO,
    service=None,
    category=None,
    note: str = "",
    by=None,
    key: str | None = None,
) -> Coupon:
    """A new single-use coupon (a manual one needs loyalty.adjust_ledger). With `key`, a second
    call answers the first coupon (a birthday coupon once a year, a campaign's once per client)."""
    if kind == Coupon.Kind.MANUAL and (by is None or not by.has_perm("loyalty.adjust_ledger")):
        raise PermissionDenied(_("Only a manager can issue a coupon."))
    if key:
        existing = Coupon.objects.filter(key=key).first()
        if existing is not None:
            return existing
    valid_from = valid_from or timezone.localdate()
    errors = {}
    try:
        value = Decimal(str(value)).quantize(Decimal("0.01"))
        if not value.is_finite() or value <= 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["value"] = [_("A coupon is worth more than zero.")]
    try:
        min_spend = Decimal(str(min_spend or 0)).quantize(Decimal("0.01"))
        if not min_spend.is_finite() or min_spend < 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["min_spend"] = [_("The minimum spend cannot be negative.")]
    if valid_until < valid_from:
        errors["valid_until"] = [_("The last day cannot be before the first.")]
    if errors:
        raise ValidationError(errors)
    while True:
        code = new_code("CP")
        if not Coupon.objects.filter(code=code).exists():
            break
    return Coupon.objects.create(
        code=code,
        kind=kind,
        customer=customer,
        value=value,
        min_spend=min_spend,
        service=service,
        category=category,
        valid_from=valid_from,
        valid_until=valid_until,
        note=(note or "").strip()[:200],
        key=key,
        issued_by=by,
        created_at=_now(),
    )


def _coupon_base(visit: Visit, coupon: Coupon) -> Decimal:
    """What in the sale the coupon may pay for: the lines of its service or category, else the
    whole sale (less top-ups and gift cards)."""
    lines = visit.lines.exclude(kind__in=MONEY_PUT_ASIDE)
    if coupon.service_id:
        lines = lines.filter(service_id=coupon.service_id)
    elif coupon.category_id:
        lines = lines.filter(service__category_id=coupon.category_id)
    else:
        return max(
            visit.total
            - (visit.lines.filter(kind__in=MONEY_PUT_ASIDE).aggregate(s=Sum("amount"))["s"] or ZERO),
            ZERO,
        )
    return lines.aggregate(s=Sum("amount"))["s"] or ZERO


def coupon_charge(visit: Visit, payment: Payment) -> None:
    _sale_limit(visit, COUPON, payment)
    code = normalise_code(payment.reference)
    coupon = Coupon.objects.select_for_update().filter(code=code).first() if code else None
    if coupon is None or coupon.status == Coupon.Status.VOIDED:
        raise ValidationError({"payments": [_("No coupon has the code %(code)s.") % {"code": code or "—"}]})
    if coupon.status == Coupon.Status.USED:
        raise ValidationError({"payments": [_("Coupon %(code)s has already been used.") % {"code": code}]})
    if coupon.customer_id and coupon.customer_id != visit.customer_id:
        raise ValidationError(
            {"payments": [_("Coupon %(code)s belongs to another client.") % {"code": code}]}
        )
    today = _today(visit.location)
    if not (coupon.valid_from <= today <= coupon.valid_until):
        raise ValidationError(
            {
                "payments": [
                    _("Coupon %(code)s is valid from %(a)s to %(b)s.")
                    % {"code": code, "a": coupon.valid_from, "b": coupon.valid_until}
                ]
            }
        )
    if visit.total < coupon.min_spend:
        raise ValidationError(
            {
                "payments": [
                    _("Coupon %(code)s needs a sale of at least %(min)s.")
                    % {"code": code, "min": coupon.min_spend}
                ]
            }
        )
    limit = min(coupon.value, _coupon_base(visit, coupon))
    if payment.amount > limit:
        raise ValidationError(
            {"payments": [_("Coupon %(code)s pays at most %(max)s here.") % {"code": code, "max": limit}]}
        )
    coupon.status = Coupon.Status.USED
    coupon.used_visit = visit
    coupon.used_payment = payment
    coupon.used_at = _now()
    coupon.save(update_fields=["status", "used_visit", "used_payment", "used_at"])


def coupon_refund(visit: Visit, payment: Payment) -> None:
    coupon = Coupon.objects.select_for_update().filter(used_payment=payment).first()
    if coupon is None:
        return
    coupon.status = Coupon.Status.ISSUED
    coupon.used_visit = None
    coupon.used_payment = None
    coupon.used_at = None
    coupon.save(update_fields=["status", "used_visit", "used_payment", "used_at"])


def _birthday_on(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February in a common year: the 28th
        return date(year, 2, 28)


def birthday_coupons(*, today: date | None = None) -> int:
    """Nightly: a coupon and a greeting for every client whose birthday is `lead days` ahead
    and who said yes to marketing on some channel; once per client per year (the keys)."""
    from loyalty.notices import BIRTHDAY, birthday_greeting

    settings = LoyaltySettings.current()
    if not settings.birthday_coupon_value:
        return 0
    today = today or timezone.localdate()
    target = today + timedelta(days=settings.birthday_lead_days)
    days = [(target.month, target.day)]
    if target.month == 2 and target.day == 28 and not _is_leap(target.year):
        days.append((2, 29))
    issued = 0
    for month, day in days:
        clients = (
            Customer.objects.active()
            .filter(birthday__month=month, birthday__day=day)
            .filter(models_q_consent())
        )
        for customer in clients.iterator(chunk_size=500):
            key = f"{BIRTHDAY}:{customer.pk}:{target.year}"
            if Coupon.objects.filter(key=key).exists():
                continue
            with transaction.atomic():
                coupon = coupon_issue(
                    customer=customer,
                    kind=Coupon.Kind.BIRTHDAY,
                    value=settings.birthday_coupon_value,
                    valid_from=today,
                    valid_until=_birthday_on(customer.birthday, target.year) + timedelta(days=7),
                    note=_("Happy birthday"),
                    key=key,
                )
                birthday_greeting(coupon)
            issued += 1
    return issued


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def models_q_consent():
    from django.db.models import Q

    return Q(consent_sms=True) | Q(consent_email=True) | Q(consent_wechat=True)
