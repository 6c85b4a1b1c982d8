"""Waitlist: a client wants a service on a day; the desk sees when a matching slot frees up."""

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import require_location
from accounts.models import Location, StaffMember
from appointments.models import Appointment, AppointmentSource, Service, WaitlistEntry
from appointments.services.availability import Slot, availability_find
from appointments.services.booking import appointment_book
from appointments.services.checks import BookingItem
from customers.models import Customer
from customers.services import NewCustomer, customer_resolve
from salon_crm.errors import Conflict


@transaction.atomic
def waitlist_add(
    *,
    customer: Customer | NewCustomer,
    location: Location,
    service: Service,
    date: date,
    staff: StaffMember | None = None,
    earliest: time | None = None,
    latest: time | None = None,
    by,
    notes: str = "",
) -> WaitlistEntry:
    """A client (existing, or new: created in this transaction) waits for `service` on `date`."""
    if by is not None:
        require_location(by, location)
    if earliest and latest and latest <= earliest:
        raise ValidationError({"latest": [_("The latest time must be after the earliest.")]})
    if not service.locations.filter(pk=location.pk).exists():
        raise ValidationError({"service": [_("This service is not offered at this location.")]})
    customer = customer_resolve(user=by, customer=customer)
    entry = WaitlistEntry(
        customer=customer,
        location=location,
        service=service,
        staff=staff,
        date=date,
        earliest=earliest,
        latest=latest,
        notes=(notes or "")[:200],
        created_by=by,
    )
    entry.full_clean(exclude=["customer", "location", "service", "staff", "created_by"])
    entry.save()
    return entry


@transaction.atomic
def waitlist_set_status(*, entry: WaitlistEntry, status: str, by) -> WaitlistEntry:
    """Mark an entry booked (the desk booked it) or cancelled (the client no longer waits)."""
    entry = WaitlistEntry.objects.select_for_update(of=("self",)).select_related("location").get(pk=entry.pk)
    if by is not None:
        require_location(by, entry.location)
    if status not in (WaitlistEntry.Status.BOOKED, WaitlistEntry.Status.CANCELLED):
        raise ValidationError({"status": [_("Unknown status.")]})
    if entry.status != WaitlistEntry.Status.WAITING:
        raise Conflict(
            _("This entry is no longer waiting."), code="invalid_status", extra={"status": entry.status}
        )
    entry.status = status
    entry.save(update_fields=["status"])
    return entry


@transaction.atomic
def waitlist_entry_book(
    *, entry: WaitlistEntry, staff: StaffMember, start: datetime, by, override_reason: str = ""
) -> Appointment:
    """Book a waiting client into a slot that freed up, and mark the entry booked: both or
    neither. The booking's refusals (slot taken, safety warnings) are appointment_book's."""
    entry = (
        WaitlistEntry.objects.select_for_update()
        .select_related("customer", "service", "location")
        .get(pk=entry.pk)
    )
    if entry.status != WaitlistEntry.Status.WAITING:
        raise Conflict(
            _("This entry is no longer waiting."), code="invalid_status", extra={"status": entry.status}
        )
    appointment = appointment_book(
        customer=entry.customer,
        location=entry.location,
        items=[BookingItem(service=entry.service, staff=staff, start=start)],
        source=AppointmentSource.PHONE,
        booked_by=by,
        notes=entry.notes,
        override_reason=override_reason,
    )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    return appointment


def waitlist_matches(*, location: Location, date: date) -> list[tuple[WaitlistEntry, list[Slot]]]:
    """Waiting entries of that day that now have at least one free slot (their stylist if
    they named one, within their earliest/latest local times). One availability search per
    distinct service, not per entry."""
    entries = list(
        WaitlistEntry.objects.filter(location=location, date=date, status=WaitlistEntry.Status.WAITING)
        .select_related("customer", "service", "staff")
        .order_by("created_at", "pk")
    )
    by_service: dict[int, list[Slot]] = {}
    result = []
    tz = location.tz
    for entry in entries:
        if entry.service_id not in by_service:
            by_service[entry.service_id] = availability_find(
                location=location, services=[entry.service], start_date=date, end_date=date
            )
        slots = [
            s
            for s in by_service[entry.service_id]
            if (entry.staff_id is None or s.staff.pk == entry.staff_id)
            and (entry.earliest is None or s.start.astimezone(tz).time() >= entry.earliest)
            and (entry.latest is None or s.start.astimezone(tz).time() <= entry.latest)
        ]
        if slots:
            result.append((entry, slots))
    return result
