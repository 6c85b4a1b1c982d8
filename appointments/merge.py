"""appointments' part of merging two clients (customers.services.customer_merge): the absorbed
client's appointments, visits and waitlist entries move to the kept client, inside the merge's
transaction (a clash raises Conflict and rolls the merge back). Registered from
AppointmentsConfig.ready()."""

from appointments.models import Appointment, Visit, WaitlistEntry
from customers.models import Customer
from customers.services import (
    MergeHandler,
    customer_rows_count,
    reassign_customer_rows,
    register_merge_handler,
    relation_label,
)

# Every appointments table that points at a client, with the field that does.
CUSTOMER_ROWS = ((Appointment, "customer"), (Visit, "customer"), (WaitlistEntry, "customer"))


def preview_rows(*, keep: Customer, merge: Customer) -> dict[str, int]:
    return {
        relation_label(model, field): customer_rows_count(model, field, customer=merge)
        for model, field in CUSTOMER_ROWS
    }


def merge_rows(*, keep: Customer, merge: Customer, by) -> dict[str, int]:
    return {
        relation_label(model, field): reassign_customer_rows(model, field, keep=keep, merge=merge)
        for model, field in CUSTOMER_ROWS
    }


MERGE_HANDLER = MergeHandler("appointments", preview=preview_rows, merge=merge_rows)


def register() -> None:
    register_merge_handler(MERGE_HANDLER)
