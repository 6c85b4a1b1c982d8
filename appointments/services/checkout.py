"""Checkout (a completed Visit with lines and payments), its price quote, and void.

Pricing lives here once: checkout_quote prices lines for the checkout page's running totals and
visit_checkout saves exactly what it quotes. The quote also says whether the sale is a price
override (a line more than PRICE_OVERRIDE_SHARE below its catalogue price, the whole sale that
far below its catalogue value, or nothing to pay): visit_checkout then wants a reason or a user
with appointments.override_price, and records both on the visit. Money handlers of other apps run inside these
transactions: a payment method's charge (checkout) and refund (void), a line kind's sold and
voided, and the visit hooks (appointments.payments, appointments.line_kinds,
appointments.visit_hooks)."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location
from accounts.models import Location, StaffMember
from appointments import events
from appointments.line_kinds import CheckoutLine, line_kind, price_rule_for
from appointments.models import Appointment, AppointmentStatus, Payment, Visit, VisitLine
from appointments.payments import payment_method
from appointments.services import rules
from appointments.services.booking import appointment_lock, require_status
from appointments.services.checks import check_on_its_day, safety_gate
from appointments.visit_hooks import sale_memo_open, visit_hooks
from customers.models import Customer
from salon_crm.errors import Conflict

CENT = Decimal("0.01")
ZERO = Decimal("0")
CHECKOUT_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_SERVICE,
]


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount: Decimal
    reference: str = ""


# How far below the catalogue a sale may go at the desk without a reason: an everyday member or
# loyalty discount passes, "a colour for 1 yuan" does not.
PRICE_OVERRIDE_SHARE = Decimal("0.20")


@dataclass(frozen=True)
class Quote:
    lines: list[VisitLine]  # priced, not saved
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    below_catalogue: bool = False  # a line, or the sale, more than PRICE_OVERRIDE_SHARE below it
    rule_discount: Decimal = ZERO  # a price rule's share, already in the lines' discounts
    rule_label: str = ""

    @property
    def nothing_to_pay(self) -> bool:
        return bool(self.lines) and self.total == ZERO

    @property
    def needs_override(self) -> bool:
        """A price override: visit_checkout wants a reason or appointments.override_price."""
        return self.below_catalogue or self.nothing_to_pay


def money(value, field: str) -> Decimal:
    """A non-negative amount to the cent; anything else is a ValidationError on `field`."""
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({field: [_("Enter an amount.")]}) from exc
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: [_("An amount cannot be negative.")]})
    return amount


# ---- pricing ----------------------------------------------------------------------------------


def _price_line(line: CheckoutLine) -> VisitLine:
    kind = line_kind(line.kind)
    if kind is None:
        raise ValidationError({"lines": [_("Unknown line kind.")]})
    description, catalogue = kind.price(line)
    if not isinstance(line.quantity, int) or line.quantity < 1:
        raise ValidationError({"lines": [_("The quantity must be at least 1.")]})
    if line.unit_price is None and catalogue is None:
        raise ValidationError({"lines": [_("Give the amount of %(what)s.") % {"what": description}]})
    unit = money(catalogue if line.unit_price is None else line.unit_price, "lines")
    discount = money(line.discount, "lines")
    gross = unit * line.quantity
    if discount > gross:
        raise ValidationError({"lines": [_("A discount cannot exceed the line's price.")]})
    return VisitLine(
        kind=line.kind,
        ref=line.ref[:64],
        service=line.service,
        product=line.product,
        staff=line.staff,
        description=description[:120],
        quantity=line.quantity,
        unit_price=unit,
        list_price=None if catalogue is None else money(catalogue, "lines"),
        discount=discount,
        amount=gross - discount,
    )


def _list_value(visit_line: VisitLine) -> Decimal:
    """What the line would cost at the catalogue price (its own amount when it has none)."""
    if visit_line.list_price is None:
        return visit_line.amount
    return visit_line.list_price * visit_line.quantity


def _far_below(amount: Decimal, list_value: Decimal) -> bool:
    return amount < list_value * (1 - PRICE_OVERRIDE_SHARE)


def _apply_rule(priced: list[VisitLine], rule) -> Decimal:
    """Take the rule's share off every service and product line (half-up to the cent), into the
    line's own discount. Returns the total taken."""
    taken = ZERO
    for v in priced:
        if v.kind not in (VisitLine.Kind.SERVICE, VisitLine.Kind.PRODUCT) or not v.amount:
            continue
        share = (v.amount * rule.percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        v.discount += share
        v.amount -= share
        taken += share
    return taken


def checkout_quote(*, lines: list[CheckoutLine], discount=ZERO, customer=None) -> Quote:
    """Price `lines` (each through its line kind), the client's price rule (a member discount,
    appointments.line_kinds.price_rule_for) and the visit discount: the amounts checkout saves.
    ValidationError for an unknown kind, a bad amount, a discount above a price."""
    if not lines:
        raise ValidationError({"lines": [_("Add at least one line.")]})
    priced = [_price_line(line) for line in lines]
    # The override check looks at the desk's own prices: a rule's share is the owner's policy.
    below_lines = any(_far_below(v.amount, _list_value(v)) for v in priced)
    rule = price_rule_for(customer)
    rule_discount = _apply_rule(priced, rule) if rule else ZERO
    subtotal = sum((v.amount for v in priced), ZERO)
    discount = money(discount or ZERO, "discount")
    if discount > subtotal:
        raise ValidationError({"discount": [_("The discount cannot exceed the subtotal.")]})
    total = subtotal - discount
    below = below_lines or _far_below(total + rule_discount, sum((_list_value(v) for v in priced), ZERO))
    return Quote(
        lines=priced,
        subtotal=subtotal,
        discount=discount,
        total=total,
        below_catalogue=below,
        rule_discount=rule_discount,
        rule_label=rule.label[:120] if rule and rule_discount else "",
    )


@dataclass(frozen=True)
class Balance:
    paid: Decimal
    remaining: Decimal  # still to pay; negative when the payments exceed the total


def checkout_balance(*, total: Decimal, amounts: list[Decimal | None]) -> Balance:
    """What the payments typed so far leave to pay (the checkout page's running totals, whose
    next empty payment row is filled with `remaining`). visit_checkout wants it to be zero."""
    paid = sum((money(a, "payments") for a in amounts if a), ZERO)
    return Balance(paid=paid, remaining=money(total, "total") - paid)


def checkout_lines_for(appointment: Appointment) -> list[CheckoutLine]:
    """The appointment's services with their stylists and booked prices."""
    return [
        CheckoutLine(kind=VisitLine.Kind.SERVICE, service=i.service, staff=i.staff, unit_price=i.price)
        for i in appointment.items.select_related("service", "staff").order_by("start", "pk")
    ]


# ---- checkout ---------------------------------------------------------------------------------


def _checkout_appointment(
    appointment: Appointment, *, location: Location, customer: Customer, by
) -> Appointment:
    appointment = appointment_lock(appointment)
    if appointment.location_id != location.pk or appointment.customer_id != customer.pk:
        raise ValidationError({"appointment": [_("This appointment is for another client or location.")]})
    if Visit.objects.filter(appointment=appointment).exists():
        raise Conflict(_("This appointment is already checked out."), code="already_checked_out")
    require_status(appointment, CHECKOUT_STATUSES, _("check out"))
    # On its own day; a manager (appointments.record_past_visit) may check out an earlier one.
    check_on_its_day(appointment, "checkout", earlier_with_permission_of=by)
    return appointment


def _require_staff_at(location: Location, quote: Quote) -> None:
    """Every line is credited to someone who works at the location of the sale: a sale credited
    to another location's stylist would move their commission and their statistics."""
    wanted = {v.staff_id for v in quote.lines if v.staff_id is not None}
    if not wanted:
        return
    here = set(StaffMember.objects.filter(pk__in=wanted, locations=location).values_list("pk", flat=True))
    strangers = [v.staff for v in quote.lines if v.staff_id is not None and v.staff_id not in here]
    if strangers:
        message = _("%(name)s does not work at %(location)s; credit the line to someone who does.")
        raise ValidationError({"lines": [message % {"name": strangers[0], "location": location}]})


def _price_override(quote: Quote, *, by, reason: str) -> str:
    """The reason to record for a price override ("" when there is none); ValidationError on
    `price_reason` when the sale needs one and `by` may not sell below the catalogue without."""
    if not quote.needs_override:
        return ""
    reason = (reason or "").strip()[:200]
    if reason or by.has_perm("appointments.override_price"):
        return reason
    if quote.nothing_to_pay:
        message = _("There is nothing to pay: give a reason (e.g. complimentary, redo), or ask a manager.")
    else:
        message = _("A price more than %(share)s%% below the catalogue needs a reason, or a manager.") % {
            "share": int(PRICE_OVERRIDE_SHARE * 100)
        }
    raise ValidationError({"price_reason": [message]})


def _payments_for(total: Decimal, payments: list[PaymentIn]) -> list[PaymentIn]:
    """The payments as amounts, each of a known method and above zero, adding up to `total`."""
    taken = [PaymentIn(p.method, money(p.amount, "payments"), p.reference) for p in payments]
    for p in taken:
        if payment_method(p.method) is None:
            raise ValidationError({"payments": [_("Unknown payment method %(m)s.") % {"m": p.method}]})
        if p.amount <= 0:
            raise ValidationError({"payments": [_("A payment must be more than zero.")]})
    paid = sum((p.amount for p in taken), ZERO)
    if paid != total:
        message = _("Payments (%(paid)s) must add up to the total (%(total)s).")
        raise ValidationError({"payments": [message % {"paid": paid, "total": total}]})
    return taken


def _known_rows(visit: Visit, related: str, rows: list) -> None:
    """Let `visit.<related>.all()` answer `rows` (rows this checkout saved, in pk order) without
    a query, as a prefetch would: the handlers and the API's answer read them from memory. The
    list is the cache itself: a row appended to it later is seen too."""
    queryset = getattr(visit, related).get_queryset()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    if not hasattr(visit, "_prefetched_objects_cache"):
        visit._prefetched_objects_cache = {}
    visit._prefetched_objects_cache[related] = queryset


def _save_sale(*, visit: Visit, quote: Quote, lines: list[CheckoutLine], payments: list[PaymentIn]) -> None:
    """The visit; its lines (one INSERT), then each line kind's `sold` in the lines' order; its
    payments (one INSERT), then each method's `charge` in the payments' order: all inside the
    checkout's transaction, so the ledgers' locks are taken in the same order as ever. While a
    payment is charged, visit.payments.all() answers the payments up to and including it."""
    # The visit's CHECK constraint (total not negative) stays in the database; the quote cannot
    # break it (a discount above the subtotal is refused), so it is not asked here (a query).
    visit.full_clean(
        exclude=["appointment", "customer", "location", "created_by"], validate_constraints=False
    )
    visit.save()
    for visit_line in quote.lines:
        visit_line.visit = visit
    VisitLine.objects.bulk_create(quote.lines)
    _known_rows(visit, "lines", list(quote.lines))
    for visit_line, line in zip(quote.lines, lines, strict=True):
        kind = line_kind(visit_line.kind)
        if kind.sold is not None:
            kind.sold(visit, visit_line, line)
    saved = Payment.objects.bulk_create(
        [
            Payment(visit=visit, method=p.method, amount=p.amount, reference=p.reference[:100])
            for p in payments
        ]
    )
    charged: list[Payment] = []
    _known_rows(visit, "payments", charged)
    for payment in saved:
        charged.append(payment)
        method = payment_method(payment.method)
        if method.charge is not None:
            method.charge(visit, payment)


@transaction.atomic
def visit_checkout(
    *,
    location: Location,
    customer: Customer,
    by,
    appointment: Appointment | None = None,
    lines: list[CheckoutLine] | None = None,
    discount: Decimal = ZERO,
    payments: list[PaymentIn],
    override_reason: str = "",
    price_reason: str = "",
) -> Visit:
    """Complete a sale. Lines default to the appointment's items (with their stylists and
    booked prices); every line's stylist works at `location`; payments must sum to the net
    total exactly; a price override (Quote.needs_override: far below the catalogue, or nothing
    to pay) needs `price_reason` or appointments.override_price and is recorded on the visit.
    Line kinds' and payment methods' handlers run inside this transaction (one that raises
    rolls everything back); they share the sale's memo (appointments.visit_hooks.sale_memo).
    Completes the appointment; events `completed` and `visit_completed` after commit.
    `override_reason` is for the safety warnings. The visit returned carries its lines and
    payments (visit.lines.all(), visit.payments.all() answer without a query)."""
    if not by.has_perm("appointments.checkout"):
        raise PermissionDenied(_("You may not check out."))
    require_location(by, location)
    if appointment is not None:
        appointment = _checkout_appointment(appointment, location=location, customer=customer, by=by)
    if lines is None:
        if appointment is None:
            raise ValidationError({"lines": [_("Add at least one line.")]})
        lines = checkout_lines_for(appointment)
    quote = checkout_quote(lines=lines, discount=discount, customer=customer)
    _require_staff_at(location, quote)
    recorded_reason = _price_override(quote, by=by, reason=price_reason)
    if appointment is None:
        # No check-in happened: the safety warnings are checked here.
        safety_gate(
            customer=customer,
            services=[v.service for v in quote.lines if v.service is not None],
            by=by,
            override_reason=override_reason,
            context="checkout",
            on=rules.local_date(location, timezone.now()),
        )
    taken = _payments_for(quote.total, payments)
    now = timezone.now()
    visit = Visit(
        appointment=appointment,
        customer=customer,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=appointment.start if appointment else now,
        completed_at=now,
        subtotal=quote.subtotal,
        discount=quote.discount,
        total=quote.total,
        created_by=by,
        price_override_reason=recorded_reason,
        price_override_by=by if quote.needs_override else None,
        rule_discount=quote.rule_discount,
        rule_label=quote.rule_label,
    )
    with sale_memo_open(visit):
        _save_sale(visit=visit, quote=quote, lines=lines, payments=taken)
        for hook in visit_hooks():
            hook.completed(visit)
    if appointment is not None:
        appointment.status = AppointmentStatus.COMPLETED
        appointment.completed_at = now
        appointment.save(update_fields=["status", "completed_at"])
        events.appointment_event(events.COMPLETED, appointment, by=by)
    events.visit_event(events.VISIT_COMPLETED, visit, by=by)
    return visit


# ---- void -------------------------------------------------------------------------------------


@transaction.atomic
def visit_void(*, visit: Visit, by, reason: str) -> Visit:
    """Managers and owners only; the rows stay (audit), the visit counts for nothing. Every
    payment is refunded through its method and every line's kind told, inside this
    transaction: a refund that fails leaves the visit completed."""
    if not by.has_perm("appointments.void_visit"):
        raise PermissionDenied(_("Only a manager can void a visit."))
    visit = Visit.objects.select_for_update(of=("self",)).select_related("location").get(pk=visit.pk)
    require_location(by, visit.location)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give a reason.")]})
    if visit.status != Visit.Status.COMPLETED:
        raise Conflict(
            _("Only a completed visit can be voided."), code="invalid_status", extra={"status": visit.status}
        )
    visit.status = Visit.Status.VOIDED
    visit.voided_at = timezone.now()
    visit.voided_by = by
    visit.void_reason = reason.strip()[:200]
    visit.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    for payment in visit.payments.order_by("pk"):
        method = payment_method(payment.method)
        if method is not None and method.refund is not None:
            method.refund(visit, payment)
    for visit_line in visit.lines.order_by("pk"):
        kind = line_kind(visit_line.kind)
        if kind is not None and kind.voided is not None:
            kind.voided(visit, visit_line)
    for hook in visit_hooks():
        hook.voided(visit)
    events.visit_event(events.VISIT_VOIDED, visit, by=by)
    return visit
