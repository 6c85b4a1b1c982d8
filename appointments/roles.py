"""Default permissions of each role for bookings, checkout and the catalogue (DESIGN.md, Roles).
Stylists hold the booking permissions too, but the services confine them to their own column."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Location, Role

A = "appointments."
_VIEW = [
    A + p
    for p in (
        "view_appointment",
        "view_service",
        "view_servicecategory",
        "view_product",
        "view_resource",
        "view_workinghours",
        "view_timeoff",
        "view_visit",
        "view_waitlistentry",
    )
]
_BOOK = [
    A + p for p in ("add_appointment", "change_appointment", "add_waitlistentry", "change_waitlistentry")
]
_DESK = [A + "checkout", A + "add_visit"]
_RECORD = [A + "add_servicerecord", A + "change_servicerecord", A + "view_servicerecord"]
# override_price: sell far below the catalogue (or for nothing) without a reason; the desk may
# too, with a reason (appointments.services.checkout).
# record_past_visit: book a start that has passed (a visit entered afterwards) and check out an
# earlier day's appointment; everyone else is refused (appointments.services.checks).
_MANAGE = [
    A + "manage_catalogue",
    A + "void_visit",
    A + "change_visit",
    A + "override_price",
    A + "record_past_visit",
] + [
    A + f"{verb}_{model}"
    for verb in ("add", "change", "delete")
    for model in ("service", "servicecategory", "product", "resource", "workinghours", "timeoff")
]

ROLE_PERMISSIONS = {
    Role.OWNER: _VIEW + _BOOK + _DESK + _RECORD + _MANAGE,
    Role.MANAGER: _VIEW + _BOOK + _DESK + _RECORD + _MANAGE,
    Role.RECEPTIONIST: _VIEW + _BOOK + _DESK + [A + "view_servicerecord"],
    Role.STYLIST: _VIEW + _BOOK + _RECORD,
}


def clients_seen_at(locations: QuerySet[Location]) -> Q:
    """Who sees which client in bulk (customers.selectors.customers_for_bulk): besides a home
    location there, a client belongs to a location where they had a visit or an appointment
    (any status: a booking made there is enough)."""
    from appointments.models import Appointment, Visit

    visited = Visit.objects.filter(customer=OuterRef("pk"), location__in=locations)
    booked = Appointment.objects.filter(customer=OuterRef("pk"), location__in=locations)
    return Q(Exists(visited)) | Q(Exists(booked))


def register_client_scope() -> None:
    """Called from AppointmentsConfig.ready()."""
    from customers.selectors import register_bulk_scope

    register_bulk_scope("appointments", clients_seen_at)
