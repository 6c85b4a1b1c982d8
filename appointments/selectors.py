"""Reads shared by the pages, the API and other apps. Each one runs a constant number of queries
however full the day or the history is (select_related / prefetch_related here, not in views)."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import (
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

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
from appointments.visit_hooks import receipt_rows
from customers.models import Customer, PatchTest
from customers.safety import CODE_LABELS, SafetyWarning, customer_safety_warnings

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


# ---- safety at a glance (calendar blocks, list rows) ------------------------------------------
# Whether a client has an allergy or a contraindication is read in SQL (the encrypted column is
# empty or not: an empty value is stored empty, salon_crm.crypto), and the latest patch test's
# result and expiry by two subqueries of the same query: no decryption, no extra query, however
# many blocks the day holds. The words of the warnings are read where one client is acted on.


def with_safety_flags(qs: QuerySet, customer: str) -> QuerySet:
    """Annotate `qs` with the safety flags of the client at path `customer` ("appointment__customer"
    for items): safety_allergy, safety_contra, safety_pt_result, safety_pt_valid_until."""
    latest = PatchTest.objects.filter(customer=OuterRef(customer)).order_by("-tested_on", "-pk")
    return qs.annotate(
        safety_allergy=ExpressionWrapper(~Q(**{f"{customer}__allergies": ""}), output_field=BooleanField()),
        safety_contra=ExpressionWrapper(
            ~Q(**{f"{customer}__contraindications": ""}), output_field=BooleanField()
        ),
        safety_pt_result=Subquery(latest.values("result")[:1]),
        safety_pt_valid_until=Subquery(latest.values("valid_until")[:1]),
    )


def safety_codes(row, *, requires_patch_test: bool, on: date) -> list[str]:
    """The warning codes (customers.safety.SafetyWarning.code) of a row annotated by
    with_safety_flags, for a service that does or does not need a patch test on date `on`: the
    same rule as customers.safety.customer_safety_warnings, without the words."""
    return safety_codes_of(
        allergy=row.safety_allergy,
        contra=row.safety_contra,
        pt_result=row.safety_pt_result,
        pt_valid_until=row.safety_pt_valid_until,
        requires_patch_test=requires_patch_test,
        on=on,
    )


def safety_codes_of(
    *,
    allergy: bool,
    contra: bool,
    pt_result: str | None,
    pt_valid_until: date | None,
    requires_patch_test: bool,
    on: date,
) -> list[str]:
    """safety_codes from the four flags themselves (rows read with values_list)."""
    codes = []
    if allergy:
        codes.append("allergy")
    if contra:
        codes.append("contraindication")
    if requires_patch_test:
        if pt_result is None:
            codes.append("patch_test_missing")
        elif pt_result == PatchTest.Result.FAILED:
            codes.append("patch_test_failed")
        elif pt_result == PatchTest.Result.PENDING:
            codes.append("patch_test_pending")
        elif pt_valid_until < on:
            codes.append("patch_test_expired")
    return codes


def safety_code_labels(codes: list[str]) -> list[str]:
    """What a marker says of each code: "Allergy on file", "No patch test on file"... (no
    health text: the client's own words are read on the card and where the work is done)."""
    return [str(CODE_LABELS.get(code, code)) for code in codes]


def items_safety_warnings(items: list[AppointmentItem]) -> dict[int, list[SafetyWarning]]:
    """Each item's safety warnings for its service on its local date, keyed by item id: two
    queries for the whole list (the clients' health fields, their latest patch tests), however
    long it is. The items need appointment, appointment.location and service loaded."""
    customer_ids = {i.appointment.customer_id for i in items}
    if not customer_ids:
        return {}
    health = (
        Customer.objects.filter(pk__in=customer_ids).only("pk", "allergies", "contraindications").in_bulk()
    )
    newest = PatchTest.objects.filter(customer=OuterRef("customer")).order_by("-tested_on", "-pk")
    latest = {
        t.customer_id: t
        for t in PatchTest.objects.filter(
            customer_id__in=customer_ids, pk=Subquery(newest.values("pk")[:1])
        ).defer("notes")  # encrypted, and not shown here
    }
    return {
        item.pk: customer_safety_warnings(
            health[item.appointment.customer_id],
            [item.service],
            on=rules.local_date(item.appointment.location, item.appointment.start),
            latest_patch_test=latest.get(item.appointment.customer_id),
        )
        for item in items
    }


class CalendarItem(NamedTuple):
    """One service of an appointment as the day calendar draws it: a row, not model instances
    (a 600-appointment day would otherwise build ~2,400 of them, and parse 600 phones)."""

    pk: int  # the AppointmentItem
    appointment_id: int
    staff_id: int
    start: datetime  # aware (UTC)
    end: datetime
    status: str  # the appointment's (AppointmentStatus)
    customer_id: int
    customer_name: str
    phone: str  # as stored (E.164 text), "" when none: shown through customers.privacy
    service_name: str
    safety_codes: list[str]  # the client's warning codes for this service (with_safety_flags)


@dataclass
class StaffColumn:
    staff: StaffMember
    working: list[tuple[datetime, datetime]] = field(default_factory=list)  # aware (UTC)
    items: list[CalendarItem] = field(default_factory=list)
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
    def items(self) -> list[CalendarItem]:
        return [i for c in self.columns for i in c.items]


# Encrypted health fields are not shown on a calendar; decrypting three Fernet tokens per
# client would cost more than the rest of the day's query. (Read them from the client card.)
_CALENDAR_DEFER = [f"appointment__customer__{f}" for f in ("allergies", "contraindications", "medical_notes")]


def _calendar_items(qs: QuerySet) -> QuerySet:
    return qs.select_related(
        "appointment__customer", "appointment__location", "service", "resource", "staff"
    ).defer(*_CALENDAR_DEFER)


# The columns of a CalendarItem, then what its safety codes are computed from. The phone is
# read as text: the model field would parse every number into a PhoneNumber on load (~60 µs
# each), and the page formats each distinct number once (customers.privacy.phone_display_for).
_DAY_COLUMNS = (
    "pk",
    "appointment_id",
    "staff_id",
    "start",
    "end",
    "appointment__status",
    "appointment__customer_id",
    "appointment__customer__name",
    "phone_text",
    "service__name",
    "appointment__start",
    "service__requires_patch_test",
    "safety_allergy",
    "safety_contra",
    "safety_pt_result",
    "safety_pt_valid_until",
)


def day_calendar(*, location: Location, date: date, include_cancelled: bool = False) -> DayCalendar:
    """A column per bookable stylist of the location (plus anyone with a booking that day), with
    their working hours, items (CalendarItem rows: client's name and phone, service name,
    status, and `safety_codes`: the client's warning codes for that service, see
    with_safety_flags) and time off. No-shows are shown, cancelled ones only on request.
    5 queries: opening hours, items, staff, working hours, time off."""
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
    rows = list(
        with_safety_flags(items_qs, "appointment__customer")
        .annotate(
            phone_text=Coalesce(
                ExpressionWrapper(F("appointment__customer__phone"), output_field=CharField()),
                Value(""),
            )
        )
        .values_list(*_DAY_COLUMNS)
    )
    booked_staff = {row[2] for row in rows}
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
    tz = location.tz
    for *shown, appointment_start, requires_patch_test, allergy, contra, pt_result, pt_valid_until in rows:
        if allergy or contra or requires_patch_test:
            codes = safety_codes_of(
                allergy=allergy,
                contra=contra,
                pt_result=pt_result,
                pt_valid_until=pt_valid_until,
                requires_patch_test=requires_patch_test,
                on=appointment_start.astimezone(tz).date(),  # rules.local_date
            )
        else:
            codes = []
        columns[shown[2]].items.append(CalendarItem(*shown, codes))
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
    order, with appointment, client, location, service and `safety_codes` (as day_calendar's).
    One query."""
    # A window wide enough for any time zone, then exact local-date filtering in memory.
    start = datetime.combine(date, datetime.min.time()).replace(tzinfo=UTC) - timedelta(hours=14)
    end = start + timedelta(hours=14 + 24 + 12)
    items = _calendar_items(
        with_safety_flags(
            AppointmentItem.objects.filter(staff=staff, start__gte=start, start__lt=end)
            .exclude(appointment__status__in=HIDDEN_ON_CALENDAR)
            .order_by("start", "pk"),
            "appointment__customer",
        )
    )
    mine = [i for i in items if rules.local_date(i.appointment.location, i.start) == date]
    for item in mine:
        item.safety_codes = safety_codes(
            item,
            requires_patch_test=item.service.requires_patch_test,
            on=rules.local_date(item.appointment.location, item.appointment.start),
        )
    return mine


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


def staff_busy_now(*, staff: QuerySet[StaffMember], at: datetime) -> dict[int, datetime]:
    """{staff id: until when} for those of `staff` who are with a client (or in the buffer after
    one) at `at`, at any location. One query. The walk-in dialog marks them."""
    busy: dict[int, datetime] = {}
    rows = AppointmentItem.objects.filter(
        staff__in=staff, is_active=True, start__lte=at, busy_until__gt=at
    ).values_list("staff_id", "busy_until")
    for staff_id, until in rows:
        busy[staff_id] = max(until, busy.get(staff_id, until))
    return busy


# ---- the client card's summary ------------------------------------------------------------------

SUMMARY_DAYS = 365  # "the last 12 months" of the card's figures
UPCOMING_STATUSES = [
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_SERVICE,
]


@dataclass(frozen=True)
class CustomerSummary:
    """What the client card says of a client's bookings and visits (appointments/card.py)."""

    since: datetime  # the figures below count from here (now - SUMMARY_DAYS)
    visits: int  # visits that count (visits_counted) since `since`
    spend: Decimal  # their net totals
    no_shows: int  # appointments starting since `since` marked no-show
    late_cancels: int  # ... cancelled late (appointment_cancel's rule)
    last_visit: Visit | None  # the newest visit that counts, ever (with its location)
    top_stylist: str  # who did most of the visits since `since` ("" when nobody)
    top_stylist_visits: int
    upcoming: list[Appointment]  # not over yet and still on (booked to in service), soonest first


def customer_summary(
    *, customer: Customer, now: datetime | None = None, upcoming: int = 5
) -> CustomerSummary:
    """The card's figures for one client, chain-wide. Visits and spend are read through
    visits_counted() (completed, not voided). Six queries whatever the history: visits (count
    and sum), appointments (no-shows, late cancellations), the last visit (+ location), the
    stylist of most visits, the upcoming appointments, their items (+ service, staff)."""
    now = now or timezone.now()
    since = now - timedelta(days=SUMMARY_DAYS)
    counted = visits_counted().filter(customer=customer)
    recent = counted.filter(started_at__gte=since, started_at__lte=now)
    totals = recent.aggregate(visits=Count("pk"), spend=Sum("total"))
    S = AppointmentStatus
    behaviour = Appointment.objects.filter(customer=customer, start__gte=since, start__lte=now).aggregate(
        no_shows=Count("pk", filter=Q(status=S.NO_SHOW)),
        late_cancels=Count("pk", filter=Q(status=S.CANCELLED, late_cancel=True)),
    )
    last_visit = counted.select_related("location").order_by("-started_at", "-pk").first()
    top = (
        VisitLine.objects.filter(visit__in=recent.values("pk"), staff__isnull=False)
        .values("staff_id", "staff__display_name")
        .annotate(n=Count("visit", distinct=True))
        .order_by("-n", "staff__display_name")
        .first()
    )
    coming = list(
        Appointment.objects.filter(customer=customer, status__in=UPCOMING_STATUSES, end__gt=now)
        .select_related("location")
        .prefetch_related(
            Prefetch(
                "items", queryset=AppointmentItem.objects.select_related("service", "staff").order_by("start")
            )
        )
        .order_by("start", "pk")[:upcoming]
    )
    return CustomerSummary(
        since=since,
        visits=totals["visits"],
        spend=totals["spend"] or Decimal("0"),
        no_shows=behaviour["no_shows"],
        late_cancels=behaviour["late_cancels"],
        last_visit=last_visit,
        top_stylist=top["staff__display_name"] if top else "",
        top_stylist_visits=top["n"] if top else 0,
        upcoming=coming,
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
    """The location's appointments of `date` with client, items (service, staff, resource) and
    `safety_codes` (the client's warning codes for the booked services). Two queries."""
    day_start, day_end = rules.day_bounds(location, date)
    appointments = list(
        with_safety_flags(
            Appointment.objects.filter(location=location, start__lt=day_end, end__gt=day_start),
            "customer",
        )
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
    for a in appointments:
        a.safety_codes = safety_codes(
            a,
            requires_patch_test=any(i.service.requires_patch_test for i in a.items.all()),
            on=rules.local_date(location, a.start),
        )
    return appointments


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
    """Everything a printed receipt shows, with the times in the location's zone (named): `at`
    is when the service happened (the visit's start: a visit checked out the next morning is
    still yesterday's), `paid_at` when it was paid, or None when that is the same minute."""
    tz = visit.location.tz
    at = visit.started_at.astimezone(tz)
    paid_at = visit.completed_at.astimezone(tz) if visit.completed_at else None
    if paid_at is not None and paid_at.replace(second=0, microsecond=0) == at.replace(
        second=0, microsecond=0
    ):
        paid_at = None
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
        "paid_at": paid_at,
        "paid_other_day": paid_at is not None and paid_at.date() != at.date(),
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
        "rule_discount": visit.rule_discount,
        "rule_label": visit.rule_label,
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
        # What other apps print for the visit (loyalty: the balances after it).
        "balances": [{"label": label, "value": value} for label, value in receipt_rows(visit)],
    }
