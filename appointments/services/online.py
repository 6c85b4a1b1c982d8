"""A client booking themselves on the online page (no login): who the client is, the booking
and their SMS opt-in, in one transaction (a refused booking leaves no client behind); the free
days and times the page offers; and the desk's check of a booking whose phone is on file for
someone else.

Who the client is. A phone alone never attaches a booking to a client on file: anyone can type
anyone's phone. The booking goes on the client with that phone only when the names agree too
(`names_agree`). Otherwise it is *held*: made (the time is taken) on a provisional client
without a phone (phones are unique), with an OnlineClientCheck keeping the name and phone typed,
so the client on file shows no trace of it. The desk sees the held bookings on the Today page
and either attaches one to the client on file (`online_check_attach`: customer_merge of the
provisional client into them, which moves the booking) or confirms a different person
(`online_check_separate`: the provisional client stays, optionally with a phone of its own).
Or the client proves the phone with a one-time SMS code (settings.ONLINE_BOOKING_PHONE_CODE,
off by default: it needs an SMS provider): a proven phone books onto the client on file whatever
name was typed. The code comes from the registered PhoneProver (messaging registers one:
appointments never imports messaging)."""

import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import can_act_at
from accounts.models import Location, StaffMember
from appointments.models import (
    Appointment,
    AppointmentItem,
    AppointmentSource,
    OnlineClientCheck,
    Service,
    WaitlistEntry,
)
from appointments.services.availability import Slot, availability_find
from appointments.services.booking import appointment_book
from appointments.services.checks import BookingItem
from appointments.services.rules import day_bounds, local_date
from appointments.services.waitlist import waitlist_add
from customers.models import ConsentChannel, Customer, SourceChannel
from customers.services import (
    NewCustomer,
    consent_set,
    customer_create,
    customer_merge,
    customer_update,
    phone_normalise,
)
from salon_crm.errors import Conflict

CHECK = OnlineClientCheck.Status

# ---- who the client is ------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A name as compared: Unicode NFKC (full-width letters become plain ones), case folded,
    keeping only letters, digits and combining marks (spaces, dots, hyphens, brackets and the
    middle dot of transliterated names go). 'Li  Mei', 'li-mei' and 'LI MEI' → 'limei';
    '王 芳' and '王·芳' → '王芳'."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LNM")


def names_agree(typed: str, on_file: str) -> bool:
    """The typed name is the name on file, up to case, spaces and punctuation (name_key). Not
    more: a given name alone, another word order, pinyin for hanzi or a nickname do not agree,
    and such a booking waits for the desk (which attaches it in one click)."""
    key = name_key(typed)
    return bool(key) and key == name_key(on_file)


@dataclass(frozen=True)
class PhoneProver:
    """Sends a one-time code to a phone and checks it (registered by messaging)."""

    send: Callable[..., None]  # send(phone=, location=); ValidationError when over its limit
    check: Callable[..., bool]  # check(phone=, code=) -> True once for the right, fresh code


_PROVER: list[PhoneProver] = []


def register_phone_prover(prover: PhoneProver) -> None:
    _PROVER[:] = [prover]


def unregister_phone_prover() -> None:
    _PROVER.clear()


def phone_prover() -> PhoneProver | None:
    """The prover, when the setting offers codes on the online page (None otherwise)."""
    from django.conf import settings

    return _PROVER[0] if _PROVER and settings.ONLINE_BOOKING_PHONE_CODE else None


@dataclass(frozen=True)
class _Who:
    customer: Customer | NewCustomer
    held: bool  # the phone is on file for a client whose name does not agree


def _provisional(name: str, phone: str) -> Customer:
    """The provisional client of a held booking: the one made for an earlier held booking of the
    same name and phone, while the desk has not checked it yet, or a new one without a phone."""
    earlier = OnlineClientCheck.objects.filter(typed_phone=phone, status=CHECK.PENDING).order_by("-pk")
    for provisional_pk, typed_name in earlier.values_list("provisional_pk", "typed_name")[:5]:
        if names_agree(name, typed_name):
            found = Customer.objects.active().filter(pk=provisional_pk, phone__isnull=True).first()
            if found is not None:
                return found
    return customer_create(user=None, name=name, phone="", source=SourceChannel.ONLINE)


def _online_client(name: str, phone: str, phone_proven: bool = False) -> _Who:
    """The client on file with this phone (E.164) when the names agree or the phone was proven
    with a code; a new client when no one has the phone; otherwise a provisional client, held
    for the desk."""
    on_file = Customer.objects.filter(phone=phone).first()
    if on_file is None:
        return _Who(NewCustomer(name=name, phone=phone, source=SourceChannel.ONLINE), held=False)
    if on_file.erased_at is None and (phone_proven or names_agree(name, on_file.name)):
        return _Who(on_file, held=False)
    return _Who(_provisional(name, phone), held=True)


def _opt_in(customer: Customer) -> None:
    if not customer.consent_sms:
        consent_set(customer=customer, channel=ConsentChannel.SMS, granted=True, method="online booking")


@transaction.atomic
def online_book(
    *,
    location: Location,
    service: Service,
    staff: StaffMember,
    start: datetime,
    name: str,
    phone: str,
    marketing_consent: bool = False,
    phone_proven: bool = False,
) -> Appointment:
    """Book as the client (no staff user): patch-test warnings refuse (SafetyWarningsError),
    a time in the past or taken is refused as for the desk. On the client on file only when
    name and phone agree; a phone on file under another name is held for the desk (an
    OnlineClientCheck, see the module's note). The client's answer looks the same either way,
    so the page tells no one whether a phone is on file. `phone_proven`: the caller checked a
    one-time code sent to the phone (PhoneProver), so the phone's client is the booker."""
    name, phone = (name or "").strip(), phone_normalise(phone)
    who = _online_client(name, phone, phone_proven)
    appointment = appointment_book(
        customer=who.customer,
        location=location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source=AppointmentSource.ONLINE,
        booked_by=None,
    )
    if who.held:
        OnlineClientCheck.objects.create(
            location=location,
            appointment=appointment,
            typed_name=name,
            typed_phone=phone,
            provisional_pk=appointment.customer_id,
        )
    if marketing_consent:
        _opt_in(appointment.customer)
    return appointment


@transaction.atomic
def online_waitlist_add(
    *, location: Location, service: Service, staff: StaffMember | None, date: date, name: str, phone: str
) -> WaitlistEntry:
    """No slot fits: the client asks to be called when one frees up on that day. Who the client
    is follows online_book's rule (a phone on file under another name is held for the desk)."""
    name, phone = (name or "").strip(), phone_normalise(phone)
    who = _online_client(name, phone)
    entry = waitlist_add(
        customer=who.customer,
        location=location,
        service=service,
        date=date,
        staff=staff,
        by=None,
    )
    if who.held:
        OnlineClientCheck.objects.create(
            location=location,
            waitlist_entry=entry,
            typed_name=name,
            typed_phone=phone,
            provisional_pk=entry.customer_id,
        )
    return entry


# ---- the desk's check of a held booking -------------------------------------------------------


def can_check_online_clients(user: AbstractBaseUser | None, location: Location | int | None) -> bool:
    """Whoever may change client files and bookings at the location (reception, managers,
    owners; not stylists): attaching is a merge of a provisional client the system made, so it
    does not need customers.merge_customer, which is for merging any two files."""
    return bool(
        user is not None
        and user.has_perm("customers.change_customer")
        and user.has_perm("appointments.change_appointment")
        and can_act_at(user, location)
    )


def _lock_pending(check: OnlineClientCheck, by: AbstractBaseUser) -> OnlineClientCheck:
    if not can_check_online_clients(by, check.location_id):
        raise PermissionDenied(_("You may not do this."))
    check = OnlineClientCheck.objects.select_for_update().get(pk=check.pk)
    if check.status != CHECK.PENDING:
        raise Conflict(_("This online booking was already checked."), code="already_checked")
    return check


def _resolve(check: OnlineClientCheck, status: str, by: AbstractBaseUser) -> int:
    """Every pending check of the same provisional client is settled by this one answer."""
    return OnlineClientCheck.objects.filter(provisional_pk=check.provisional_pk, status=CHECK.PENDING).update(
        status=status, resolved_at=timezone.now(), resolved_by=by
    )


@transaction.atomic
def online_check_attach(*, check: OnlineClientCheck, by: AbstractBaseUser) -> Customer:
    """The desk says the person who booked online is the client on file with the phone they
    typed: the provisional client is merged into that client (customer_merge moves the booking,
    and any other held booking or waitlist entry of the same provisional client). Returns the
    client on file. Refused when no client has that phone any more (ValidationError), when it
    was already checked (Conflict "already_checked"), or for someone who may not
    (PermissionDenied)."""
    check = _lock_pending(check, by)
    on_file = Customer.objects.active().filter(phone=check.typed_phone).first()
    if on_file is None or on_file.pk == check.provisional_pk:
        raise ValidationError(
            _("No client has the phone %(phone)s now. Keep the booking as a different person.")
            % {"phone": check.typed_phone}
        )
    provisional = Customer.objects.filter(pk=check.provisional_pk).first()
    if provisional is not None:
        # The system's merge (by=None): the desk may attach without customers.merge_customer;
        # who did it is on the check (resolved_by).
        customer_merge(keep=on_file, merge=provisional, by=None)
    _resolve(check, CHECK.ATTACHED, by)
    return on_file


@transaction.atomic
def online_check_separate(*, check: OnlineClientCheck, by: AbstractBaseUser, phone: str = "") -> Customer:
    """The desk says the person who booked online is not the client on file: the provisional
    client stays the booking's client. With `phone` (the person's own number, found by calling
    or asking), that client gets it; a phone on file is refused (ValidationError on phone)."""
    check = _lock_pending(check, by)
    provisional = Customer.objects.filter(pk=check.provisional_pk).first()
    if provisional is None:
        raise Conflict(_("This online booking was already checked."), code="already_checked")
    if (phone or "").strip():
        customer_update(user=by, customer=provisional, data={"phone": phone})
    _resolve(check, CHECK.SEPARATE, by)
    return provisional


def online_checks_erase(customer: Customer) -> None:
    """customers' erase hook (registered in AppointmentsConfig.ready()): the name and phone a
    person typed online are theirs too; blanked when their client is erased, whether still the
    provisional one or the client on file the booking was attached to."""
    OnlineClientCheck.objects.filter(
        Q(provisional_pk=customer.pk)
        | Q(appointment__customer=customer)
        | Q(waitlist_entry__customer=customer)
    ).update(typed_name="", typed_phone="")


# ---- reads: free days and times, the desk's list ------------------------------------------------


@dataclass(frozen=True)
class OnlineDays:
    """The free starts of a window of days, by local day."""

    days: list[date]
    slots: dict[date, list[Slot]] = field(default_factory=dict)

    @property
    def free(self) -> list[date]:
        return [d for d in self.days if self.slots.get(d)]

    def first_free(self) -> date | None:
        return next(iter(self.free), None)

    def next_free(self, after: date) -> date | None:
        return next((d for d in self.free if d > after), None)


def online_days(
    *,
    location: Location,
    service: Service,
    staff: StaffMember | None,
    first_day: date,
    last_day: date,
    not_before: datetime | None = None,
) -> OnlineDays:
    """Every free start of `service` with `staff` (or anyone) from `first_day` to `last_day`
    (local dates), none before `not_before` (default now): one availability_find call for the
    whole window, so the page knows which days have time (the picker skips the others) and the
    next free day after an empty one without asking day by day."""
    by_day: dict[date, list[Slot]] = defaultdict(list)
    for slot in availability_find(
        location=location,
        services=[service],
        start_date=first_day,
        end_date=last_day,
        staff=staff,
        now=not_before,
    ):
        by_day[local_date(location, slot.start)].append(slot)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    return OnlineDays(days=days, slots=dict(by_day))


def spread_over_stylists(*, location: Location, day: date, slots: list[Slot]) -> list[Slot]:
    """For "anyone available": one slot per start time, given to the free stylist with the
    fewest bookings that day (so "any" spreads the work instead of always filling the first
    name in the list). One query."""
    start, end = day_bounds(location, day)
    load = dict(
        AppointmentItem.objects.filter(
            appointment__location=location, start__gte=start, start__lt=end, is_active=True
        )
        .values_list("staff_id")
        .annotate(n=Count("pk"))
    )
    best: dict = {}
    for slot in slots:
        rank = (load.get(slot.staff.pk, 0), slot.staff.display_name)
        if slot.start not in best or rank < best[slot.start][0]:
            best[slot.start] = (rank, slot)
    return sorted((slot for _rank, slot in best.values()), key=lambda s: s.start)


def online_checks_pending(*, location: Location, limit: int = 20) -> list[OnlineClientCheck]:
    """The held online bookings of a location, soonest first, at most `limit` (+1 to tell that
    there are more), each with `on_file`: the client who has the typed phone now (or None).
    Three queries whatever the number: the checks with their booking or waitlist entry, the
    booking's services and stylists, the clients with those phones. A check whose provisional
    client was merged some other way (the client-merge page) is left out."""
    still_held = Q(appointment__customer_id=F("provisional_pk")) | Q(
        waitlist_entry__customer_id=F("provisional_pk")
    )
    items = AppointmentItem.objects.select_related("service", "staff").order_by("start", "pk")
    checks = list(
        OnlineClientCheck.objects.filter(still_held, location=location, status=CHECK.PENDING)
        .select_related("appointment", "waitlist_entry__service")
        .prefetch_related(Prefetch("appointment__items", queryset=items))
        .order_by(F("appointment__start").asc(nulls_last=True), "waitlist_entry__date", "pk")[: limit + 1]
    )
    phones = {c.typed_phone for c in checks}
    on_file = {
        str(c.phone): c
        for c in Customer.objects.active().filter(phone__in=phones).only("pk", "name", "phone")
    }
    for check in checks:
        check.on_file = on_file.get(check.typed_phone)
    return checks
