"""No-show protection (docs/loyalty.md): deposits held as deferred revenue and fees.

- `deposit_required(appointment)`: the largest deposit of the active policies that apply.
- The desk takes it (`deposit_take`: cash, card, WeChat Pay, Alipay; "pay at the desk" is the
  default way); it is held until checkout applies it (payment method "deposit", the whole held
  amount), a cancel before the cut-off refunds it, or a no-show or a late cancel keeps it
  (forfeited: recognised as revenue). A manager may waive a kept deposit (refunded, reason
  recorded). Each step is a DepositEntry; `Deposit.held` is their sum.
- A no-show or a late cancel of a booking that held no deposit leaves a fee (LoyaltySettings'
  no-show and late-cancellation fees) that the client's next checkout offers as a line (kind
  "fee"), or a manager waives.
Cancels and no-shows are appointments' after-commit events: the reaction runs in its own
transaction, once per appointment (the keys)."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments import events
from appointments.models import Appointment, AppointmentStatus, Payment, Visit, VisitLine
from loyalty.models import Deposit, DepositEntry, DepositPolicy, FeeCharge, LoyaltySettings

ZERO = Decimal("0")
CENT = Decimal("0.01")
DEPOSIT = "deposit"  # payment method
FEE = "fee"  # line kind
DESK_METHODS = ("cash", "card", "wechat_pay", "alipay")
BEFORE_SERVICE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.ARRIVED)


def _is_new_client(appointment: Appointment) -> bool:
    return not Visit.objects.filter(
        customer_id=appointment.customer_id, status=Visit.Status.COMPLETED
    ).exists()


def deposit_required(appointment: Appointment) -> tuple[Decimal, DepositPolicy | None]:
    """(amount, policy): the largest deposit the active policies ask of this booking."""
    items = list(appointment.items.all())
    if not items:
        return ZERO, None
    total = sum((i.price for i in items), ZERO)
    minutes = (max(i.end for i in items) - min(i.start for i in items)).total_seconds() / 60
    services = {i.service_id for i in items}
    policies = DepositPolicy.objects.filter(active=True).filter(
        Q(location__isnull=True) | Q(location_id=appointment.location_id)
    )
    best, chosen, new_client = ZERO, None, None
    for policy in policies:
        if policy.service_id and policy.service_id not in services:
            continue
        if policy.online_only and appointment.source != "online":
            continue
        if policy.min_minutes and minutes < policy.min_minutes:
            continue
        if policy.new_clients_only:
            new_client = _is_new_client(appointment) if new_client is None else new_client
            if not new_client:
                continue
        amount = (
            policy.amount
            if policy.kind == DepositPolicy.Kind.FIXED
            else (total * policy.amount / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        )
        amount = min(amount, total) if total else amount
        if amount > best:
            best, chosen = amount, policy
    return best, chosen


def _entry(deposit: Deposit, kind: str, amount: Decimal, *, key: str, by=None, **fields) -> DepositEntry:
    entry = DepositEntry.objects.create(
        deposit=deposit, kind=kind, amount=amount, key=key, by=by, at=timezone.now(), **fields
    )
    deposit.held += amount
    Deposit.objects.filter(pk=deposit.pk).update(held=deposit.held)
    return entry


@transaction.atomic
def deposit_take(*, appointment: Appointment, method: str, by, amount=None, reference: str = "") -> Deposit:
    """The desk takes the deposit of a booking (before its service)."""
    if by is None or not by.has_perm("loyalty.use_loyalty"):
        raise PermissionDenied(_("You may not take deposits."))
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status not in BEFORE_SERVICE:
        raise ValidationError({"amount": [_("A deposit is taken before the service.")]})
    if Deposit.objects.filter(appointment=appointment).exists():
        raise ValidationError({"amount": [_("This booking already has a deposit.")]})
    if method not in DESK_METHODS:
        raise ValidationError({"method": [_("Choose how the deposit is paid.")]})
    if amount is None:
        amount, _policy = deposit_required(appointment)
    try:
        amount = Decimal(str(amount)).quantize(CENT)
        if not amount.is_finite() or amount <= 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        raise ValidationError({"amount": [_("A deposit must be more than zero.")]}) from None
    deposit = Deposit.objects.create(
        appointment=appointment,
        customer=appointment.customer,
        amount=amount,
        method=method,
        reference=(reference or "")[:100],
        location=appointment.location,
        taken_by=by,
        taken_at=timezone.now(),
    )
    _entry(deposit, DepositEntry.Kind.TAKEN, amount, key=f"deposit:taken:{deposit.pk}", by=by)
    return deposit


# ---- at checkout --------------------------------------------------------------------------------


def deposit_charge(visit: Visit, payment: Payment) -> None:
    """Payment method "deposit": the whole deposit held for the visit's booking."""
    deposit = (
        Deposit.objects.select_for_update().filter(appointment_id=visit.appointment_id).first()
        if visit.appointment_id
        else None
    )
    if deposit is None or deposit.status != Deposit.Status.HELD or not deposit.held:
        raise ValidationError({"payments": [_("This booking holds no deposit to apply.")]})
    if payment.amount != deposit.held:
        raise ValidationError(
            {"payments": [_("Apply the whole deposit held: %(held)s.") % {"held": deposit.held}]}
        )
    _entry(
        deposit,
        DepositEntry.Kind.APPLIED,
        -deposit.held,
        key=f"deposit:applied:{payment.pk}",
        visit=visit,
        payment=payment,
        by=visit.created_by,
    )
    Deposit.objects.filter(pk=deposit.pk).update(status=Deposit.Status.APPLIED, closed_at=timezone.now())


def deposit_refund_payment(visit: Visit, payment: Payment) -> None:
    applied = DepositEntry.objects.filter(key=f"deposit:applied:{payment.pk}").first()
    key = f"deposit:unapplied:{payment.pk}"
    if applied is None or DepositEntry.objects.filter(key=key).exists():
        return
    deposit = Deposit.objects.select_for_update().get(pk=applied.deposit_id)
    _entry(
        deposit,
        DepositEntry.Kind.UNAPPLIED,
        -applied.amount,
        key=key,
        visit=visit,
        payment=payment,
        by=visit.voided_by,
    )
    Deposit.objects.filter(pk=deposit.pk).update(status=Deposit.Status.HELD, closed_at=None)


def deposit_available_text(customer) -> str | None:
    from loyalty.selectors import money_text

    held = list(
        Deposit.objects.filter(customer=customer, status=Deposit.Status.HELD, held__gt=0)
        .select_related("appointment")
        .order_by("appointment__start")
    )
    if not held:
        return None
    return "; ".join(
        _("%(amount)s for the booking of %(day)s")
        % {"amount": money_text(d.held), "day": timezone.localtime(d.appointment.start).date().isoformat()}
        for d in held
    )


# ---- cancels and no-shows (after commit) -------------------------------------------------------


def on_appointment_event(event) -> None:
    """CANCELLED / NO_SHOW: refund a deposit cancelled in time, keep one not; a booking without
    a deposit leaves a fee when the settings ask for one."""
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=event.appointment_id)
        late = event.kind == events.NO_SHOW or (event.kind == events.CANCELLED and appointment.late_cancel)
        deposit = Deposit.objects.select_for_update().filter(appointment=appointment).first()
        if deposit is not None:
            if deposit.status != Deposit.Status.HELD or not deposit.held:
                return
            kind = DepositEntry.Kind.FORFEITED if late else DepositEntry.Kind.REFUNDED
            if not late and deposit.method == "online":
                from loyalty.payments_online import refund_online

                if not refund_online(deposit):  # the provider refused: still held, error logged
                    return
            _entry(deposit, kind, -deposit.held, key=f"deposit:{kind}:{deposit.pk}")
            status = Deposit.Status.FORFEITED if late else Deposit.Status.REFUNDED
            Deposit.objects.filter(pk=deposit.pk).update(status=status, closed_at=timezone.now())
            return
        if not late:
            return
        settings = LoyaltySettings.current()
        no_show = event.kind == events.NO_SHOW
        fee = settings.no_show_fee if no_show else settings.late_cancel_fee
        if fee > 0:
            FeeCharge.objects.get_or_create(
                appointment=appointment,
                defaults={
                    "customer_id": appointment.customer_id,
                    "kind": FeeCharge.Kind.NO_SHOW if no_show else FeeCharge.Kind.LATE_CANCEL,
                    "amount": fee,
                    "created_at": timezone.now(),
                },
            )


@transaction.atomic
def deposit_waive(*, deposit: Deposit, by, reason: str) -> Deposit:
    """A manager gives a kept deposit back (the client had a good reason)."""
    if by is None or not by.has_perm("loyalty.adjust_ledger"):
        raise PermissionDenied(_("Only a manager can waive a deposit."))
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
    if deposit.status != Deposit.Status.FORFEITED:
        raise ValidationError({"reason": [_("Only a kept deposit can be waived.")]})
    DepositEntry.objects.create(
        deposit=deposit,
        kind=DepositEntry.Kind.WAIVED,
        amount=ZERO,
        key=f"deposit:waived:{deposit.pk}",
        by=by,
        at=timezone.now(),
    )
    deposit.status = Deposit.Status.REFUNDED
    deposit.reason = reason
    deposit.closed_by = by
    deposit.closed_at = timezone.now()
    deposit.save(update_fields=["status", "reason", "closed_by", "closed_at"])
    return deposit


@transaction.atomic
def fee_waive(*, fee: FeeCharge, by, reason: str) -> FeeCharge:
    if by is None or not by.has_perm("loyalty.adjust_ledger"):
        raise PermissionDenied(_("Only a manager can waive a fee."))
    reason = (reason or "").strip()[:200]
    if not reason:
        raise ValidationError({"reason": [_("Give a reason.")]})
    fee = FeeCharge.objects.select_for_update().get(pk=fee.pk)
    if fee.status != FeeCharge.Status.OPEN:
        raise ValidationError({"reason": [_("Only an open fee can be waived.")]})
    fee.status = FeeCharge.Status.WAIVED
    fee.reason = reason
    fee.closed_by = by
    fee.save(update_fields=["status", "reason", "closed_by"])
    return fee


# ---- the fee as a checkout line -----------------------------------------------------------------


def _fee(line) -> FeeCharge:
    ref = str(line.ref or "").strip()
    fee = (
        FeeCharge.objects.filter(pk=int(ref), status=FeeCharge.Status.OPEN).first() if ref.isdigit() else None
    )
    if fee is None:
        raise ValidationError({"lines": [_("That fee is not open.")]})
    return fee


def fee_price(line) -> tuple[str, Decimal]:
    fee = _fee(line)
    day = timezone.localtime(fee.appointment.start).date().isoformat()
    return _("%(kind)s (booking of %(day)s)") % {"kind": fee.get_kind_display(), "day": day}, fee.amount


def fee_sold(visit: Visit, visit_line: VisitLine, line) -> None:
    fee = FeeCharge.objects.select_for_update().get(pk=_fee(line).pk)
    if fee.customer_id != visit.customer_id:
        raise ValidationError({"lines": [_("That fee is another client's.")]})
    fee.status = FeeCharge.Status.PAID
    fee.visit_line = visit_line
    fee.save(update_fields=["status", "visit_line"])


def fee_voided(visit: Visit, visit_line: VisitLine) -> None:
    FeeCharge.objects.filter(visit_line=visit_line).update(status=FeeCharge.Status.OPEN, visit_line=None)


def fee_choices(customer) -> list[tuple[int, str]]:
    if customer is None:
        return []
    from loyalty.selectors import money_text

    return [
        (
            f.pk,
            f"{f.get_kind_display()} · {timezone.localtime(f.appointment.start).date().isoformat()} · {money_text(f.amount)}",
        )
        for f in FeeCharge.objects.filter(customer=customer, status=FeeCharge.Status.OPEN).select_related(
            "appointment"
        )
    ]


def subscribe() -> None:
    events.subscribe("loyalty.deposits", on_appointment_event, kinds=[events.CANCELLED, events.NO_SHOW])
