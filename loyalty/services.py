"""Every write to the loyalty ledgers (docs/loyalty.md). One service layer for the checkout's
handlers, the pages, the API and the nightly task.

Each write locks the client's LoyaltyAccount (select_for_update), appends its ledger row(s) and
moves the account's balance column in the same transaction: the balance is always the sum of
the rows, and a debit larger than the balance is refused (ValidationError) before anything is
written. The account's CHECK constraints are the last line: no balance can go below zero.

Money: Decimal to the cent everywhere. Rounding rules (tested):
- points earned: whole points, rounded down, per visit (¥99.99 at 1 point per ¥1 earns 99);
- points paid: an amount must be worth whole points (at 100 points = ¥1 every cent is; at 30
  points = ¥1 only whole yuan and tenths of 3…: anything else is refused, never rounded);
- stored value spent is drawn from principal and bonus in proportion to what is left of each
  (the bonus part rounded half-even to the cent, then limited to the bonus left; the principal
  pays the rest), so neither part can be emptied first to game a refund;
- a refund pays back principal only; the bonus is forfeited in the same proportion as the
  principal refunded (all of it when the whole principal is refunded), rounded half-up."""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Payment, Visit, VisitLine
from appointments.services import rules
from appointments.visit_hooks import sale_memo
from customers.models import Customer
from loyalty.models import (
    LoyaltyAccount,
    LoyaltySettings,
    PointsDraw,
    PointsEntry,
    StoredValueEntry,
    TopUpRule,
)

CENT = Decimal("0.01")
ZERO = Decimal("0")
TOPUP = "topup"  # the checkout line kind of a stored-value top-up
POINTS = "points"  # payment methods
STORED_VALUE = "stored_value"
# Lines that are money put aside (a top-up, a gift card), not a purchase: they earn no points
# (spending the money later does), and no credit may pay for them.
MONEY_PUT_ASIDE = {TOPUP, "gift_card", "tip"}  # (a tip is the stylist's, not a purchase)
NOT_EARNING_KINDS = MONEY_PUT_ASIDE
# Payments that are the salon's own credit or prepaid services: they earn no points (stored value
# and gift cards are the client's money: spending them earns).
NOT_EARNING_METHODS = {POINTS, "package", "coupon"}
CREDIT_METHODS = {POINTS, STORED_VALUE, "gift_card", "coupon", "package"}


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT)


# ---- the account ------------------------------------------------------------------------------


def account_locked(customer: Customer, *, with_tier: bool = False) -> LoyaltyAccount:
    """The client's account, made on first use, locked until the transaction ends (only the
    account's row: `with_tier` reads its tier in the same statement without locking it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("account_locked needs a transaction")
    locked = LoyaltyAccount.objects.select_for_update(of=("self",))
    if with_tier:
        locked = locked.select_related("tier")
    account = locked.filter(customer=customer).first()
    if account is None:  # the first use: made (or made by a concurrent first use), then locked
        LoyaltyAccount.objects.get_or_create(customer=customer)
        account = locked.get(customer=customer)
    return account


def sale_account(visit: Visit) -> LoyaltyAccount:
    """The client's account for the handlers of one checkout: locked at the first use and kept
    in the sale's memo (appointments.visit_hooks.sale_memo), so every handler of the sale works
    on the one locked row, whose balances in memory follow every change made through it (each
    write below moves the column with F() and the instance by the same amount). Outside a
    checkout, account_locked. Every in-checkout write of loyalty goes through here: a second
    instance of the same account would not see what the first one moved."""
    memo = sale_memo(visit)
    if memo is None:
        return account_locked(visit.customer)
    if "loyalty.account" not in memo:
        memo["loyalty.account"] = account_locked(visit.customer, with_tier=True)
    return memo["loyalty.account"]


def sale_settings(visit: Visit) -> LoyaltySettings:
    """LoyaltySettings, read once per checkout (the sale's memo), else read now."""
    memo = sale_memo(visit)
    if memo is None:
        return LoyaltySettings.current()
    if "loyalty.settings" not in memo:
        memo["loyalty.settings"] = LoyaltySettings.current()
    return memo["loyalty.settings"]


def _today(location=None) -> date:
    now = timezone.now()
    return rules.local_date(location, now) if location is not None else timezone.localdate(now)


# ---- points -----------------------------------------------------------------------------------


def _credit_lot(
    account: LoyaltyAccount, *, kind: str, points: int, expires_on: date, **fields
) -> PointsEntry:
    entry = PointsEntry.objects.create(
        account=account,
        kind=kind,
        points=points,
        remaining=points,
        expires_on=expires_on,
        created_at=timezone.now(),
        **fields,
    )
    LoyaltyAccount.objects.filter(pk=account.pk).update(points=F("points") + points)
    account.points += points
    return entry


def _debit(
    account: LoyaltyAccount, *, kind: str, points: int, prefer: PointsEntry | None = None, **fields
) -> PointsEntry:
    """Take `points` from the open lots, `prefer`'s first, then the earliest expiry first."""
    if points <= 0:
        raise ValidationError({"points": [_("Give a number of points above zero.")]})
    if points > account.points:
        raise ValidationError(
            {
                "points": [
                    _("Only %(have)s points left; %(want)s asked for.")
                    % {"have": account.points, "want": points}
                ]
            }
        )
    entry = PointsEntry.objects.create(
        account=account, kind=kind, points=-points, created_at=timezone.now(), **fields
    )
    lots = list(account.points_entries.filter(remaining__gt=0).order_by("expires_on", "pk"))
    if prefer is not None:
        lots.sort(key=lambda lot: lot.pk != prefer.pk)
    left = points
    draws = []
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        draws.append(PointsDraw(debit=entry, lot=lot, points=take))
        PointsEntry.objects.filter(pk=lot.pk).update(remaining=F("remaining") - take)
    if left:  # the lots disagree with the balance: never write a partial debit
        raise RuntimeError(f"points ledger of account {account.pk} is inconsistent")
    PointsDraw.objects.bulk_create(draws)
    LoyaltyAccount.objects.filter(pk=account.pk).update(points=F("points") - points)
    account.points -= points
    return entry


def _give_back(account: LoyaltyAccount, debit: PointsEntry, *, key: str, **fields) -> PointsEntry:
    """Undo a debit: its points go back into the very lots they came from (with their expiry)."""
    entry = PointsEntry.objects.create(
        account=account,
        kind=PointsEntry.Kind.REVERSE,
        points=-debit.points,
        key=key,
        created_at=timezone.now(),
        **fields,
    )
    for draw in debit.draws.all():
        PointsEntry.objects.filter(pk=draw.lot_id).update(remaining=F("remaining") + draw.points)
    LoyaltyAccount.objects.filter(pk=account.pk).update(points=F("points") - debit.points)
    account.points -= debit.points
    return entry


def _expire_due(account: LoyaltyAccount, today: date) -> PointsEntry | None:
    """Expire the lots whose last valid day is before `today` (one entry for all of them)."""
    due = list(
        account.points_entries.filter(remaining__gt=0, expires_on__lt=today).order_by("expires_on", "pk")
    )
    total = sum(lot.remaining for lot in due)
    if not total:
        return None
    entry = PointsEntry.objects.create(
        account=account,
        kind=PointsEntry.Kind.EXPIRE,
        points=-total,
        created_at=timezone.now(),
        reason=_("Expired (earned up to %(day)s)") % {"day": max(lot.expires_on for lot in due).isoformat()},
    )
    PointsDraw.objects.bulk_create([PointsDraw(debit=entry, lot=lot, points=lot.remaining) for lot in due])
    PointsEntry.objects.filter(pk__in=[lot.pk for lot in due]).update(remaining=0)
    LoyaltyAccount.objects.filter(pk=account.pk).update(points=F("points") - total)
    account.points -= total
    return entry


def points_expiry_date(earned_on: date, settings: LoyaltySettings | None = None) -> date:
    """The last day points earned on `earned_on` can be used."""
    settings = settings or LoyaltySettings.current()
    return earned_on + relativedelta(months=settings.points_expiry_months)


def points_for_amount(amount: Decimal, settings: LoyaltySettings | None = None) -> int:
    """How many points pay `amount`; ValidationError when it is not worth whole points."""
    settings = settings or LoyaltySettings.current()
    points = amount * settings.points_per_currency_unit
    if points != points.to_integral_value():
        step = (Decimal(1) / settings.points_per_currency_unit).quantize(Decimal("0.0001"))
        raise ValidationError(
            {
                "payments": [
                    _("Points pay whole points only: %(n)s points = 1 (one point is %(step)s).")
                    % {"n": settings.points_per_currency_unit, "step": step}
                ]
            }
        )
    return int(points)


def points_value(points: int, settings: LoyaltySettings | None = None) -> Decimal:
    settings = settings or LoyaltySettings.current()
    return (Decimal(points) / settings.points_per_currency_unit).quantize(CENT, rounding=ROUND_DOWN)


def _lines_sum(visit: Visit, kinds) -> Decimal:
    # visit.lines.all(): from memory in a checkout (it knows the rows it saved), else one query
    return sum((line.amount for line in visit.lines.all() if line.kind in kinds), ZERO)


def _payments_sum(visit: Visit, methods) -> Decimal:
    return sum((p.amount for p in visit.payments.all() if p.method in methods), ZERO)


def earnable_amount(visit: Visit) -> Decimal:
    """What a visit earns points on: its net total, less top-ups (money put aside, which earns
    when it is spent) and less what points paid."""
    lines = _lines_sum(visit, NOT_EARNING_KINDS)
    paid = _payments_sum(visit, NOT_EARNING_METHODS)
    return max(visit.total - lines - paid, ZERO)


def points_earn_for_visit(visit: Visit) -> PointsEntry | None:
    """Earn once per visit (the key makes a second call a no-op). Inside the checkout."""
    key = f"earn:visit:{visit.pk}"
    if PointsEntry.objects.filter(key=key).exists():
        return None
    settings = sale_settings(visit)
    account = sale_account(visit)
    # the tier the client had when the sale was priced (an upgrade it brings counts from the next)
    multiplier = account.tier.points_multiplier if account.tier_id else Decimal("1")
    points = int(
        (earnable_amount(visit) * settings.points_per_unit * multiplier).to_integral_value(
            rounding=ROUND_DOWN
        )
    )
    if points <= 0:
        return None
    earned_on = rules.local_date(visit.location, visit.completed_at or timezone.now())
    return _credit_lot(
        account,
        kind=PointsEntry.Kind.EARN,
        points=points,
        expires_on=points_expiry_date(earned_on, settings),
        visit=visit,
        location=visit.location,
        key=key,
        created_by=visit.created_by,
    )


@transaction.atomic
def points_earn_for_visits(visits) -> int:
    """Earn for many completed visits at once (history loaded without a checkout: the demo, an
    import), set-based: the same amounts, rounding, keys and expiry as points_earn_for_visit,
    at the base rate (no tier multiplier: tiers follow from the history afterwards). Visits
    already earned are skipped. Returns the number of visits that earned."""
    visits = [v for v in visits if v.status == Visit.Status.COMPLETED]
    keys = {f"earn:visit:{v.pk}": v for v in visits}
    done = set(PointsEntry.objects.filter(key__in=list(keys)).values_list("key", flat=True))
    todo = [v for k, v in keys.items() if k not in done]
    if not todo:
        return 0
    ids = [v.pk for v in todo]
    aside = dict(
        VisitLine.objects.filter(visit_id__in=ids, kind__in=NOT_EARNING_KINDS)
        .values("visit_id")
        .annotate(s=Sum("amount"))
        .values_list("visit_id", "s")
    )
    credit = dict(
        Payment.objects.filter(visit_id__in=ids, method__in=NOT_EARNING_METHODS)
        .values("visit_id")
        .annotate(s=Sum("amount"))
        .values_list("visit_id", "s")
    )
    settings = LoyaltySettings.current()
    customers = {v.customer_id for v in todo}
    LoyaltyAccount.objects.bulk_create(
        [LoyaltyAccount(customer_id=c) for c in customers], ignore_conflicts=True
    )
    accounts = {
        a.customer_id: a for a in LoyaltyAccount.objects.select_for_update().filter(customer_id__in=customers)
    }
    now = timezone.now()
    lots, added = [], {}
    for v in todo:
        amount = max(v.total - (aside.get(v.pk) or ZERO) - (credit.get(v.pk) or ZERO), ZERO)
        points = int((amount * settings.points_per_unit).to_integral_value(rounding=ROUND_DOWN))
        if points <= 0:
            continue
        earned_on = rules.local_date(v.location, v.completed_at or now)
        lots.append(
            PointsEntry(
                account=accounts[v.customer_id],
                kind=PointsEntry.Kind.EARN,
                points=points,
                remaining=points,
                expires_on=points_expiry_date(earned_on, settings),
                visit_id=v.pk,
                location_id=v.location_id,
                key=f"earn:visit:{v.pk}",
                created_by_id=v.created_by_id,
                created_at=v.completed_at or now,
            )
        )
        added[v.customer_id] = added.get(v.customer_id, 0) + points
    PointsEntry.objects.bulk_create(lots, batch_size=1000)
    for customer_id, points in added.items():
        LoyaltyAccount.objects.filter(pk=accounts[customer_id].pk).update(points=F("points") + points)
    return len(lots)


def points_reverse_for_visit(visit: Visit, *, by=None) -> PointsEntry | None:
    """A voided visit takes back what it earned (from its own lot first). Refused when the
    client has already spent them: a manager adjusts first, with a reason."""
    earned = PointsEntry.objects.filter(key=f"earn:visit:{visit.pk}").first()
    if earned is None:
        return None
    key = f"unearn:visit:{visit.pk}"
    if PointsEntry.objects.filter(key=key).exists():
        return None
    account = account_locked(visit.customer)
    if account.points < earned.points:
        raise ValidationError(
            {
                "reason": [
                    _(
                        "This visit earned %(earned)s points but only %(have)s are left: adjust the points first."
                    )
                    % {"earned": earned.points, "have": account.points}
                ]
            }
        )
    return _debit(
        account,
        kind=PointsEntry.Kind.REVERSE,
        points=earned.points,
        prefer=earned,
        visit=visit,
        location=visit.location,
        key=key,
        reason=visit.void_reason,
        created_by=by or visit.voided_by,
    )


def _sale_limit(visit: Visit, method: str, payment: Payment) -> None:
    """Credit (points, stored value, gift cards, coupons, packages) pays for what the visit
    sells, never for a top-up or a gift card."""
    aside = _lines_sum(visit, MONEY_PUT_ASIDE)
    if not aside:
        return
    # the payments saved so far, this one included (visit_checkout charges them in order)
    credit = _payments_sum(visit, CREDIT_METHODS)
    if credit > visit.total - aside:
        raise ValidationError(
            {
                "payments": [
                    _(
                        "Points, stored value, gift cards and coupons cannot pay for a top-up, a gift card or a tip."
                    )
                ]
            }
        )


def points_charge(visit: Visit, payment: Payment) -> None:
    """Payment method "points": the amount is worth whole points, taken FIFO by expiry."""
    _sale_limit(visit, POINTS, payment)
    settings = sale_settings(visit)
    points = points_for_amount(payment.amount, settings)
    account = sale_account(visit)
    today = _today(visit.location)
    _expire_due(account, today)
    if points > account.points:
        raise ValidationError(
            {
                "payments": [
                    _("%(name)s has %(have)s points (worth %(value)s); %(want)s asked for.")
                    % {
                        "name": visit.customer.name,
                        "have": account.points,
                        "value": points_value(account.points, settings),
                        "want": points,
                    }
                ]
            }
        )
    _debit(
        account,
        kind=PointsEntry.Kind.REDEEM,
        points=points,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=f"redeem:payment:{payment.pk}",
        created_by=visit.created_by,
    )


def points_refund(visit: Visit, payment: Payment) -> None:
    debit = PointsEntry.objects.filter(key=f"redeem:payment:{payment.pk}").first()
    if debit is None:
        return
    key = f"unredeem:payment:{payment.pk}"
    if PointsEntry.objects.filter(key=key).exists():
        return
    account = account_locked(visit.customer)
    _give_back(
        account,
        debit,
        key=key,
        visit=visit,
        payment=payment,
        location=visit.location,
        created_by=visit.voided_by,
    )


def _require_perm(by, perm: str, message: str) -> None:
    if by is None or not by.has_perm(perm):
        raise PermissionDenied(message)


@transaction.atomic
def points_adjust(
    *, customer: Customer, points: int, reason: str, by, location=None, key: str | None = None
) -> PointsEntry:
    """A manager's correction, + or -, with a reason. Added points expire like earned ones.
    With `key` (a complaint's compensation) the adjustment is made once: a second call answers
    the first entry."""
    _require_perm(by, "loyalty.adjust_ledger", _("Only a manager can adjust points."))
    if key:
        existing = PointsEntry.objects.filter(key=key).first()
        if existing is not None:
            return existing
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise ValidationError({"points": [_("Give a whole number of points, not zero.")]})
    if abs(points) > 10_000_000:
        raise ValidationError({"points": [_("That is more points than an adjustment can move.")]})
    account = account_locked(customer)
    today = _today(location)
    _expire_due(account, today)
    if key:
        existing = PointsEntry.objects.filter(key=key).first()  # after the account's lock
        if existing is not None:
            return existing
    fields = {"reason": reason, "created_by": by, "location": location, "key": key}
    if points > 0:
        return _credit_lot(
            account,
            kind=PointsEntry.Kind.ADJUST,
            points=points,
            expires_on=points_expiry_date(today),
            **fields,
        )
    return _debit(account, kind=PointsEntry.Kind.ADJUST, points=-points, **fields)


def points_expire(*, today: date | None = None) -> int:
    """The nightly expiry: every account with a lot past its last day, one transaction each.
    Returns the number of accounts touched."""
    today = today or timezone.localdate()
    ids = (
        PointsEntry.objects.filter(remaining__gt=0, expires_on__lt=today)
        .values_list("account_id", flat=True)
        .distinct()
    )
    done = 0
    for account_id in list(ids):
        with transaction.atomic():
            account = LoyaltyAccount.objects.select_for_update().get(pk=account_id)
            if _expire_due(account, today) is not None:
                done += 1
    return done


# ---- stored value -----------------------------------------------------------------------------


def topup_bonus(amount: Decimal) -> Decimal:
    """The bonus of the best active rule for a top-up of `amount` (rules do not add up)."""
    rule = TopUpRule.objects.filter(active=True, pay_at_least__lte=amount).order_by("-pay_at_least").first()
    return rule.bonus if rule else ZERO


def _value_entry(
    account: LoyaltyAccount, *, kind: str, principal: Decimal, bonus: Decimal, **fields
) -> StoredValueEntry:
    entry = StoredValueEntry.objects.create(
        account=account, kind=kind, principal=principal, bonus=bonus, created_at=timezone.now(), **fields
    )
    LoyaltyAccount.objects.filter(pk=account.pk).update(
        principal=F("principal") + principal, bonus=F("bonus") + bonus
    )
    account.principal += principal
    account.bonus += bonus
    return entry


def spend_split(account: LoyaltyAccount, amount: Decimal) -> tuple[Decimal, Decimal]:
    """(principal, bonus) drawn for `amount`, in proportion to what is left of each."""
    total = account.principal + account.bonus
    if amount > total:
        raise ValidationError(
            {
                "payments": [
                    _("Stored value left: %(have)s; %(want)s asked for.") % {"have": total, "want": amount}
                ]
            }
        )
    bonus = (amount * account.bonus / total).quantize(CENT, rounding=ROUND_HALF_EVEN) if total else ZERO
    bonus = min(bonus, account.bonus)
    principal = amount - bonus
    if principal > account.principal:  # rounding at the last cent: the bonus pays it
        bonus += principal - account.principal
        principal = account.principal
    return principal, bonus


def topup_price(line) -> tuple[str, Decimal | None]:
    """Line kind "topup": any amount (the line's own unit price), one at a time."""
    if line.quantity != 1:
        raise ValidationError({"lines": [_("Sell one top-up per line.")]})
    if line.unit_price is not None and line.unit_price <= 0:
        raise ValidationError({"lines": [_("A top-up must be more than zero.")]})
    if line.unit_price is not None and line.discount:
        raise ValidationError({"lines": [_("A top-up is not discounted: its bonus is the discount.")]})
    bonus = topup_bonus(line.unit_price) if line.unit_price is not None else ZERO
    if bonus:
        return _("Stored-value top-up (+%(bonus)s bonus)") % {"bonus": bonus}, None
    return _("Stored-value top-up"), None


def topup_sold(visit: Visit, visit_line: VisitLine, line) -> None:
    if visit.discount:
        raise ValidationError(
            {"discount": [_("A sale with a top-up takes no visit discount: the bonus is the discount.")]}
        )
    account = sale_account(visit)
    _value_entry(
        account,
        kind=StoredValueEntry.Kind.TOPUP,
        principal=visit_line.amount,
        bonus=topup_bonus(visit_line.amount),
        visit=visit,
        visit_line=visit_line,
        location=visit.location,
        key=f"topup:line:{visit_line.pk}",
        created_by=visit.created_by,
    )


def topup_voided(visit: Visit, visit_line: VisitLine) -> None:
    sold = StoredValueEntry.objects.filter(key=f"topup:line:{visit_line.pk}").first()
    if sold is None or StoredValueEntry.objects.filter(key=f"untopup:line:{visit_line.pk}").exists():
        return
    account = account_locked(visit.customer)
    if account.principal < sold.principal or account.bonus < sold.bonus:
        raise ValidationError(
            {
                "reason": [
                    _(
                        "This top-up has been partly spent (left: %(p)s principal, %(b)s bonus): refund the rest instead."
                    )
                    % {"p": account.principal, "b": account.bonus}
                ]
            }
        )
    _value_entry(
        account,
        kind=StoredValueEntry.Kind.REVERSE,
        principal=-sold.principal,
        bonus=-sold.bonus,
        visit=visit,
        visit_line=visit_line,
        location=visit.location,
        key=f"untopup:line:{visit_line.pk}",
        reason=visit.void_reason,
        created_by=visit.voided_by,
    )


def stored_value_charge(visit: Visit, payment: Payment) -> None:
    _sale_limit(visit, STORED_VALUE, payment)
    account = sale_account(visit)
    principal, bonus = spend_split(account, payment.amount)
    entry = _value_entry(
        account,
        kind=StoredValueEntry.Kind.SPEND,
        principal=-principal,
        bonus=-bonus,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=f"spend:payment:{payment.pk}",
        created_by=visit.created_by,
    )
    _notice_on_commit(entry, account, visit.customer)


def stored_value_refund_payment(visit: Visit, payment: Payment) -> None:
    spent = StoredValueEntry.objects.filter(key=f"spend:payment:{payment.pk}").first()
    key = f"unspend:payment:{payment.pk}"
    if spent is None or StoredValueEntry.objects.filter(key=key).exists():
        return
    account = account_locked(visit.customer)
    _value_entry(
        account,
        kind=StoredValueEntry.Kind.REVERSE,
        principal=-spent.principal,
        bonus=-spent.bonus,
        visit=visit,
        payment=payment,
        location=visit.location,
        key=key,
        reason=visit.void_reason,
        created_by=visit.voided_by,
    )


REFUND_METHODS = ("cash", "card", "wechat_pay", "alipay")


def refund_forfeit(account: LoyaltyAccount, amount: Decimal) -> Decimal:
    """The bonus forfeited with a refund of `amount` principal (all of it with the last yuan)."""
    if amount >= account.principal:
        return account.bonus
    return min(
        (account.bonus * amount / account.principal).quantize(CENT, rounding=ROUND_HALF_UP), account.bonus
    )


@transaction.atomic
def stored_value_refund(
    *, customer: Customer, amount, reason: str, method: str, by, location=None
) -> StoredValueEntry:
    """Pay principal back to the client (a manager, with a reason); the bonus goes with it in
    proportion (refund_forfeit)."""
    _require_perm(by, "loyalty.adjust_ledger", _("Only a manager can refund stored value."))
    reason = (reason or "").strip()[:200]
    errors = {}
    if not reason:
        errors["reason"] = [_("Give a reason.")]
    if method not in REFUND_METHODS:
        errors["method"] = [_("Choose how the money is paid back.")]
    try:
        amount = _money(amount)
    except (ArithmeticError, ValueError, TypeError):
        errors["amount"] = [_("Enter an amount.")]
    else:
        if not amount.is_finite() or amount <= 0:
            errors["amount"] = [_("A refund must be more than zero.")]
    if errors:
        raise ValidationError(errors)
    account = account_locked(customer)
    if amount > account.principal:
        raise ValidationError(
            {
                "amount": [
                    _("Only %(have)s of principal can be refunded (the bonus never is).")
                    % {"have": account.principal}
                ]
            }
        )
    entry = _value_entry(
        account,
        kind=StoredValueEntry.Kind.REFUND,
        principal=-amount,
        bonus=-refund_forfeit(account, amount),
        reason=reason,
        refund_method=method,
        location=location,
        created_by=by,
    )
    _notice_on_commit(entry, account, customer)
    return entry


# ---- notices ----------------------------------------------------------------------------------


BALANCE_NOTICE = "stored_value_notice"


def _notice_on_commit(entry: StoredValueEntry, account: LoyaltyAccount, customer: Customer) -> None:
    """The client's balance notice after a use or a refund, through messaging's outbox (its key
    makes it once per ledger row), planned after the write commits. The balance right after the
    row is the locked account's now (the row was just written under its lock), so the notice
    need not read the ledger again."""
    balance = (account.principal, account.bonus)

    def plan() -> None:
        from loyalty.notices import balance_notice

        balance_notice(entry.pk, entry=entry, customer=customer, balance=balance)

    transaction.on_commit(plan)


# ---- invariants (tests, the audit command) ----------------------------------------------------


@dataclass(frozen=True)
class LedgerCheck:
    account_id: int
    points: tuple[int, int, int]  # balance, sum of entries, sum of open lots
    principal: tuple[Decimal, Decimal]
    bonus: tuple[Decimal, Decimal]

    @property
    def ok(self) -> bool:
        return (
            len(set(self.points)) == 1
            and self.principal[0] == self.principal[1]
            and self.bonus[0] == self.bonus[1]
            and min(self.points[0], self.principal[0], self.bonus[0]) >= 0
        )


def ledger_check(account: LoyaltyAccount) -> LedgerCheck:
    account.refresh_from_db()
    pts = account.points_entries.aggregate(s=Sum("points"), r=Sum("remaining"))
    val = account.value_entries.aggregate(p=Sum("principal"), b=Sum("bonus"))
    return LedgerCheck(
        account.pk,
        (account.points, pts["s"] or 0, pts["r"] or 0),
        (account.principal, val["p"] or ZERO),
        (account.bonus, val["b"] or ZERO),
    )
