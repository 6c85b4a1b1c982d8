"""Reads shared by the pages, the API and other apps. Each one runs a constant number of queries
however full the day or the history is (select_related / prefetch_related here, not in views)."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.access import locations_for, role_of, staff_of
from accounts.models import Location, OpeningHours, Role, StaffMember
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentStatus,
    Product,
    Service,
    TimeOff,
    Visit,
    VisitLine,
    WaitlistEntry,
    WorkingHours,
)
from appointments.payments import payment_label
from appointments.services import rules
from customers.models import Customer

HIDDEN_ON_CALENDAR = [AppointmentStatus.CANCELLED]


# ---- authorised fetches: missing and forbidden both 404 (the location's staff, owners all) -----


def appointment_get_for_user(*, user, pk: int) -> Appointment:
    """The appointment, if it is at a location `user` may act at; Http404 otherwise."""
    qs = Appointment.objects.filter(location__in=locations_for(user)).select_related("customer", "location")
    return get_object_or_404(qs, pk=pk)


def visit_get_for_user(*, user, pk: int) -> Visit:
    """The visit with its lines and payments (as visit_get), if `user` may act at its location."""
    get_object_or_404(Visit.objects.filter(location__in=locations_for(user)).values("pk"), pk=pk)
    return visit_get(pk=pk)


def appointment_item_get_for_user(*, user, pk: int) -> AppointmentItem:
    """One service of an appointment, with its client, location, service and stylist. Stylists
    open their own items only; the desk and managers any at their locations."""
    qs = AppointmentItem.objects.select_related(
        "appointment__customer", "appointment__location", "service", "staff"
    ).filter(appointment__location__in=locations_for(user))
    if role_of(user) == Role.STYLIST:
        qs = qs.filter(staff=staff_of(user))
    return get_object_or_404(qs, pk=pk)


def waitlist_entry_get_for_user(*, user, pk: int) -> WaitlistEntry:
    qs = WaitlistEntry.objects.filter(location__in=locations_for(user)).select_related("location", "customer")
    return get_object_or_404(qs, pk=pk)


# ---- the catalogue the forms and the online page choose from ---------------------------------


def services_offered(*, location: Location | None = None) -> QuerySet[Service]:
    """Bookable (active) services, at `location` if given, in menu order."""
    qs = Service.objects.filter(is_active=True).select_related("category")
    if location is not None:
        qs = qs.filter(locations=location)
    return qs.order_by("category__position", "category__name", "name")


def staff_bookable(*, location: Location) -> QuerySet[StaffMember]:
    return StaffMember.objects.bookable().at_location(location).order_by("display_name", "pk")


def products_retail() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True, kind=Product.Kind.RETAIL)


def products_active() -> QuerySet[Product]:
    """Retail and back-bar: what a stylist may record as used in a service."""
    return Product.objects.filter(is_active=True)


# ---- the visits that count ---------------------------------------------------------------------


def visits_counted() -> QuerySet[Visit]:
    """The read contract for every count and sum of visits (metrics, dashboards, the client
    card, analytics): completed and not voided. Voided visits keep their rows for the audit
    and the history timeline, and count for nothing."""
    return Visit.objects.filter(status=Visit.Status.COMPLETED)


@dataclass
class StaffColumn:
    staff: StaffMember
    working: list[tuple[datetime, datetime]] = field(default_factory=list)  # aware (UTC)
    items: list[AppointmentItem] = field(default_factory=list)  # .appointment.customer, .service
    time_off: list[TimeOff] = field(default_factory=list)


@dataclass
class DayCalendar:
    location: Location
    date: date
    day_start: datetime  # local midnight, as an aware UTC datetime (show with .astimezone(tz))
    day_end: datetime  # next local midnight (23 or 25 hours later on DST days)
    opening: list[tuple[datetime, datetime]]
    columns: list[StaffColumn]

    @property
    def items(self) -> list[AppointmentItem]:
        return [i for c in self.columns for i in c.items]


# Encrypted health fields are not shown on a calendar; decrypting three Fernet tokens per
# client would cost more than the rest of the day's query. (Read them from the client card.)
_CALENDAR_DEFER = [f"appointment__customer__{f}" for f in ("allergies", "contraindications", "medical_notes")]


def _calendar_items(qs: QuerySet) -> QuerySet:
    return qs.select_related(
        "appointment__customer", "appointment__location", "service", "resource", "staff"
    ).defer(*_CALENDAR_DEFER)


# The day page shows a client's name and phone only: the other columns (the derived search
# columns, the JSON pieces, notes, consents...) are left in the database, ~20 fewer values per
# block to load on a 300-appointment day. Reading another client field there costs a query.
_DAY_CUSTOMER_DEFER = [
    f"appointment__customer__{f.name}"
    for f in Customer._meta.concrete_fields
    if f.name not in ("id", "name", "phone")
]


def day_calendar(*, location: Location, date: date, include_cancelled: bool = False) -> DayCalendar:
    """A column per bookable stylist of the location (plus anyone with a booking that day), with
    their working hours, items (appointment, client, service, resource) and time off. No-shows
    are shown, cancelled ones only on request. 5 queries: opening hours, staff, working hours,
    time off, items."""
    day_start, day_end = rules.day_bounds(location, date)
    weekday = date.weekday()
    opening = rules.windows_for_day(
        location,
        date,
        OpeningHours.objects.filter(location=location, weekday=weekday).values_list("opens", "closes"),
    )
    items_qs = AppointmentItem.objects.filter(
        appointment__location=location, start__lt=day_end, end__gt=day_start
    ).order_by("start", "pk")
    if not include_cancelled:
        items_qs = items_qs.exclude(appointment__status__in=HIDDEN_ON_CALENDAR)
    # The location and staff come from this call's own objects (attached below): fewer model
    # instances per item on a 300-appointment day.
    items = list(
        items_qs.select_related("appointment__customer", "service", "resource").defer(*_DAY_CUSTOMER_DEFER)
    )
    booked_staff = {i.staff_id for i in items}
    bookable_here = StaffMember.objects.bookable().filter(locations=location).values("pk")
    staff = list(
        StaffMember.objects.filter(Q(pk__in=booked_staff) | Q(pk__in=bookable_here)).order_by(
            "display_name", "pk"
        )
    )
    columns = {s.pk: StaffColumn(staff=s) for s in staff}
    for staff_id, start, end in WorkingHours.objects.filter(
        location=location, weekday=weekday, staff_id__in=list(columns)
    ).values_list("staff_id", "start", "end"):
        columns[staff_id].working.append(
            (rules.local_dt(location, date, start), rules.local_dt(location, date, end))
        )
    for off in TimeOff.objects.filter(staff_id__in=list(columns), start__lt=day_end, end__gt=day_start):
        columns[off.staff_id].time_off.append(off)
    for item in items:
        item.staff = columns[item.staff_id].staff
        item.appointment.location = location
        columns[item.staff_id].items.append(item)
    for column in columns.values():
        column.working.sort()
    return DayCalendar(
        location=location,
        date=date,
        day_start=day_start,
        day_end=day_end,
        opening=opening,
        columns=list(columns.values()),
    )


def stylist_day(*, staff: StaffMember, date: date) -> list[AppointmentItem]:
    """The stylist's items on `date` (local date of each item's location), not cancelled, in
    order, with appointment, client, location and service. One query."""
    # A window wide enough for any time zone, then exact local-date filtering in memory.
    start = datetime.combine(date, datetime.min.time()).replace(tzinfo=UTC) - timedelta(hours=14)
    end = start + timedelta(hours=14 + 24 + 12)
    items = _calendar_items(
        AppointmentItem.objects.filter(staff=staff, start__gte=start, start__lt=end)
        .exclude(appointment__status__in=HIDDEN_ON_CALENDAR)
        .order_by("start", "pk")
    )
    return [i for i in items if rules.local_date(i.appointment.location, i.start) == date]


def appointments_for_customer(*, customer: Customer, limit: int = 20) -> list[Appointment]:
    """Newest first, with items (service, staff) and location. Two queries."""
    return list(
        Appointment.objects.filter(customer=customer)
        .select_related("location")
        .prefetch_related(
            Prefetch(
                "items", queryset=AppointmentItem.objects.select_related("service", "staff").order_by("start")
            )
        )
        .order_by("-start", "-pk")[:limit]
    )


def appointment_get(*, pk: int) -> Appointment:
    return (
        Appointment.objects.select_related("customer", "location")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=AppointmentItem.objects.select_related("service", "staff", "resource").order_by(
                    "start"
                ),
            )
        )
        .get(pk=pk)
    )


def appointments_for_day(*, location: Location, date: date) -> list[Appointment]:
    day_start, day_end = rules.day_bounds(location, date)
    return list(
        Appointment.objects.filter(location=location, start__lt=day_end, end__gt=day_start)
        .select_related("customer", "location")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=AppointmentItem.objects.select_related("service", "staff", "resource").order_by(
                    "start"
                ),
            )
        )
        .order_by("start", "pk")
    )


def visit_get(*, pk: int) -> Visit:
    return (
        Visit.objects.select_related("customer", "location", "appointment", "created_by", "voided_by")
        .prefetch_related(
            Prefetch("lines", queryset=VisitLine.objects.select_related("service", "product", "staff")),
            "payments",
        )
        .get(pk=pk)
    )


@dataclass(frozen=True)
class NextVisitSuggestion:
    date: date
    service: Service


def next_visit_suggestion(visit: Visit) -> NextVisitSuggestion | None:
    """The earliest typical rebooking date among the visit's services (e.g. colour: 42 days),
    counted from the visit's local date; None when no service has an interval."""
    best: NextVisitSuggestion | None = None
    visit_day = rules.local_date(visit.location, visit.started_at)
    for line in visit.lines.all():
        service = line.service
        if service is None or not service.rebook_interval_days:
            continue
        suggestion = NextVisitSuggestion(visit_day + timedelta(days=service.rebook_interval_days), service)
        if best is None or suggestion.date < best.date:
            best = suggestion
    return best


def receipt_data(visit: Visit) -> dict:
    """Everything a printed receipt shows, with the time in the location's zone (named)."""
    tz = visit.location.tz
    at = (visit.completed_at or visit.started_at).astimezone(tz)
    lines = list(visit.lines.all())
    pays = list(visit.payments.all())
    return {
        "visit_id": visit.pk,
        "status": visit.status,
        "location": {
            "name": visit.location.name,
            "address": visit.location.address,
            "phone": visit.location.phone,
        },
        "customer": visit.customer.name,
        "at": at,
        "time_zone": visit.location.time_zone,
        "lines": [
            {
                "description": line.description,
                "staff": line.staff.display_name if line.staff else "",
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "amount": line.amount,
            }
            for line in lines
        ],
        "subtotal": visit.subtotal,
        "discount": visit.discount,
        "total": visit.total,
        "payments": [
            {
                "method": p.method,
                "label": payment_label(p.method),
                "amount": p.amount,
                "reference": p.reference,
            }
            for p in pays
        ],
        "void_reason": visit.void_reason,
    }
