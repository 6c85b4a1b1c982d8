"""Every write of the appointments app (STYLE.md): booking, availability, checkout, waitlist.
The pages, the API, the tasks and the import command all call these."""

from appointments.line_kinds import CheckoutLine
from appointments.services.availability import Slot, TimeSlot, availability_find, availability_times
from appointments.services.booking import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_confirm,
    appointment_move,
    appointment_no_show,
    appointment_start,
    walk_in_create,
)
from appointments.services.checkout import (
    PaymentIn,
    Quote,
    checkout_lines_for,
    checkout_quote,
    visit_checkout,
    visit_void,
)
from appointments.services.checks import BookingItem, SafetyWarningsError
from appointments.services.online import online_book, online_waitlist_add
from appointments.services.records import FormulaIn, service_record_write
from appointments.services.waitlist import (
    waitlist_add,
    waitlist_entry_book,
    waitlist_matches,
    waitlist_set_status,
)

__all__ = [
    "BookingItem",
    "CheckoutLine",
    "FormulaIn",
    "PaymentIn",
    "Quote",
    "SafetyWarningsError",
    "Slot",
    "TimeSlot",
    "appointment_book",
    "appointment_cancel",
    "appointment_check_in",
    "appointment_confirm",
    "appointment_move",
    "appointment_no_show",
    "appointment_start",
    "availability_find",
    "availability_times",
    "checkout_lines_for",
    "checkout_quote",
    "online_book",
    "online_waitlist_add",
    "service_record_write",
    "visit_checkout",
    "visit_void",
    "waitlist_add",
    "waitlist_entry_book",
    "waitlist_matches",
    "waitlist_set_status",
    "walk_in_create",
]
