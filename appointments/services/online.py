"""A client booking themselves on the online page (no login): who the client is, the booking
and their SMS opt-in, in one transaction (a refused booking leaves no client behind)."""

from datetime import date, datetime

from django.db import transaction

from accounts.models import Location, StaffMember
from appointments.models import Appointment, AppointmentSource, Service, WaitlistEntry
from appointments.services.booking import appointment_book
from appointments.services.checks import BookingItem
from appointments.services.waitlist import waitlist_add
from customers.models import ConsentChannel, Customer, SourceChannel
from customers.services import NewCustomer, consent_set, phone_normalise


def _online_client(name: str, phone: str) -> Customer | NewCustomer:
    """The client with this phone (E.164), or a new one from online booking."""
    phone = phone_normalise(phone)
    existing = Customer.objects.active().filter(phone=phone).first()
    return existing or NewCustomer(name=name, phone=phone, source=SourceChannel.ONLINE)


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
) -> Appointment:
    """Book as the client (no staff user): patch-test warnings refuse (SafetyWarningsError),
    a time in the past or taken is refused as for the desk."""
    appointment = appointment_book(
        customer=_online_client(name, phone),
        location=location,
        items=[BookingItem(service=service, staff=staff, start=start)],
        source=AppointmentSource.ONLINE,
        booked_by=None,
    )
    if marketing_consent:
        _opt_in(appointment.customer)
    return appointment


@transaction.atomic
def online_waitlist_add(
    *, location: Location, service: Service, staff: StaffMember | None, date: date, name: str, phone: str
) -> WaitlistEntry:
    """No slot fits: the client asks to be called when one frees up on that day."""
    return waitlist_add(
        customer=_online_client(name, phone),
        location=location,
        service=service,
        date=date,
        staff=staff,
        by=None,
    )
