"""Default permissions of each role for bookings, checkout and the catalogue (DESIGN.md, Roles).
Stylists hold the booking permissions too, but the services confine them to their own column."""

from accounts.models import Role

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
_MANAGE = [A + "manage_catalogue", A + "void_visit", A + "change_visit"] + [
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
