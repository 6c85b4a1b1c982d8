"""Checkout (a completed Visit with lines and payments) and void."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location
from accounts.models import Location, StaffMember
from appointments import hooks
from appointments.models import (
    Appointment,
    AppointmentStatus,
    Payment,
    Product,
    Service,
    Visit,
    VisitLine,
)
from appointments.payments import payment_method
from appointments.services.booking import _lock, _require_status
from appointments.services.checks import _safety
from customers.models import Customer
from salon_crm.errors import Conflict

CENT = Decimal("0.01")
ZERO = Decimal("0")


@dataclass(frozen=True)
class CheckoutLine:
    kind: str  # "service" | "product"
    service: Service | None = None
    product: Product | None = None
    staff: StaffMember | None = None
    quantity: int = 1
    unit_price: Decimal | None = None  # None: the catalogue price
    discount: Decimal = ZERO


@dataclass(frozen=True)
class PaymentIn:
    method: str
    amount: Decimal
    reference: str = ""


def _money(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception as exc:  # decimal.InvalidOperation and friends: bad input, not a bug
        raise ValidationError({field: [_("Enter an amount.")]}) from exc
    if amount < 0:
        raise ValidationError({field: [_("An amount cannot be negative.")]})
    return amount


def _build_line(line: CheckoutLine) -> VisitLine:
    if line.kind == VisitLine.Kind.SERVICE:
        if line.service is None:
            raise ValidationError({"lines": [_("A service line needs a service.")]})
        item, catalogue = line.service, line.service.price
    elif line.kind == VisitLine.Kind.PRODUCT:
        if line.product is None:
            raise ValidationError({"lines": [_("A product line needs a product.")]})
        item, catalogue = line.product, line.product.price
    else:
        raise ValidationError({"lines": [_("Unknown line kind.")]})
    if not isinstance(line.quantity, int) or line.quantity < 1:
        raise ValidationError({"lines": [_("The quantity must be at least 1.")]})
    unit = _money(catalogue if line.unit_price is None else line.unit_price, "lines")
    discount = _money(line.discount, "lines")
    gross = unit * line.quantity
    if discount > gross:
        raise ValidationError({"lines": [_("A discount cannot exceed the line's price.")]})
    return VisitLine(
        kind=line.kind,
        service=line.service,
        product=line.product,
        staff=line.staff,
        description=str(item)[:120],
        quantity=line.quantity,
        unit_price=unit,
        discount=discount,
        amount=gross - discount,
    )


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
) -> Visit:
    """Complete a sale. Lines default to the appointment's items (with their stylists and
    booked prices); payments must sum to the net total exactly; each method's handler (loyalty:
    stored value, points...) runs inside this transaction. Completes the appointment and calls
    the visit_completed hook after commit."""
    if not by.has_perm("appointments.checkout"):
        raise PermissionDenied(_("You may not check out."))
    require_location(by, location)
    if appointment is not None:
        appointment = _lock(appointment)
        if appointment.location_id != location.pk or appointment.customer_id != customer.pk:
            raise ValidationError({"appointment": [_("This appointment is for another client or location.")]})
        if Visit.objects.filter(appointment=appointment).exists():
            raise Conflict(_("This appointment is already checked out."), code="already_checked_out")
        _require_status(
            appointment,
            [
                AppointmentStatus.BOOKED,
                AppointmentStatus.CONFIRMED,
                AppointmentStatus.ARRIVED,
                AppointmentStatus.IN_SERVICE,
            ],
            _("check out"),
        )
    if lines is None:
        if appointment is None:
            raise ValidationError({"lines": [_("Add at least one line.")]})
        lines = [
            CheckoutLine(kind="service", service=i.service, staff=i.staff, unit_price=i.price)
            for i in appointment.items.select_related("service", "staff").order_by("start", "pk")
        ]
    if not lines:
        raise ValidationError({"lines": [_("Add at least one line.")]})
    built = [_build_line(line) for line in lines]
    if appointment is None:
        # No check-in happened: the safety warnings are checked here.
        _safety(
            customer=customer,
            services=[b.service for b in built if b.service is not None],
            by=by,
            override_reason=override_reason,
            context="checkout",
            on=timezone.localdate(timezone=location.tz),
        )
    subtotal = sum((b.amount for b in built), ZERO)
    discount = _money(discount, "discount")
    if discount > subtotal:
        raise ValidationError({"discount": [_("The discount cannot exceed the subtotal.")]})
    total = subtotal - discount
    taken = [PaymentIn(p.method, _money(p.amount, "payments"), p.reference) for p in payments]
    for p in taken:
        if payment_method(p.method) is None:
            raise ValidationError({"payments": [_("Unknown payment method %(m)s.") % {"m": p.method}]})
        if p.amount <= 0:
            raise ValidationError({"payments": [_("A payment must be more than zero.")]})
    paid = sum((p.amount for p in taken), ZERO)
    if paid != total:
        raise ValidationError(
            {
                "payments": [
                    _("Payments (%(paid)s) must add up to the total (%(total)s).")
                    % {"paid": paid, "total": total}
                ]
            }
        )
    now = timezone.now()
    visit = Visit(
        appointment=appointment,
        customer=customer,
        location=location,
        status=Visit.Status.COMPLETED,
        started_at=appointment.start if appointment else now,
        completed_at=now,
        subtotal=subtotal,
        discount=discount,
        total=total,
        created_by=by,
    )
    visit.full_clean(exclude=["appointment", "customer", "location", "created_by"])
    visit.save()
    for b in built:
        b.visit = visit
    VisitLine.objects.bulk_create(built)
    for p in taken:
        payment = Payment.objects.create(
            visit=visit, method=p.method, amount=p.amount, reference=p.reference[:100]
        )
        handler = payment_method(p.method).handler
        if handler is not None:
            handler(visit, payment)
    if appointment is not None:
        appointment.status = AppointmentStatus.COMPLETED
        appointment.completed_at = now
        appointment.save(update_fields=["status", "completed_at"])
    hooks.visit_completed(visit)
    return visit


@transaction.atomic
def visit_void(*, visit: Visit, by, reason: str) -> Visit:
    """Managers and owners only; the rows stay (audit), the visit counts for nothing."""
    if not by.has_perm("appointments.void_visit"):
        raise PermissionDenied(_("Only a manager can void a visit."))
    visit = Visit.objects.select_for_update().select_related("location").get(pk=visit.pk)
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
    hooks.visit_voided(visit)
    return visit
