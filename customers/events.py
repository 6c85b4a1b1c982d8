"""The events of client files (docs/architecture.md, "Events"): after commit, typed, carrying
ids, the actor and the time, never a live Customer.

Higher apps subscribe from their AppConfig.ready():

    from customers import events
    events.subscribe("messaging.consent", replan_messages, kinds=[events.CONSENT_CHANGED])

A listener runs once the writing transaction has committed (nothing is sent for a write that
was rolled back); one that raises is logged and never turns the committed write into an error.
What must be all-or-nothing with a merge is not an event: that is the merge-handler registry
(customers.services.register_merge_handler).

Bulk imports (customer_import, customer_create_stubs) send no per-client events: a file of a
million rows would queue a million callbacks (the CSV import writes one AccessLog row)."""

from dataclasses import dataclass

from django.utils import timezone

from salon_crm.events import Event, EventBus, actor_id

CREATED = "created"
UPDATED = "updated"
MERGED = "merged"
ERASED = "erased"
CONSENT_CHANGED = "consent_changed"
KINDS = (CREATED, UPDATED, MERGED, ERASED, CONSENT_CHANGED)


@dataclass(frozen=True)
class CustomerEvent(Event):
    """`customer_id` is the client acted on (for MERGED: the kept one). The other fields are
    set only by the kinds named beside them."""

    customer_id: int
    merged_id: int | None = None  # MERGED: the absorbed client's former id (the row is gone)
    fields: tuple[str, ...] = ()  # UPDATED: the profile fields that changed ("tags" included)
    channel: str = ""  # CONSENT_CHANGED: sms, email, wechat or all
    granted: bool | None = None  # CONSENT_CHANGED: the decision recorded


bus = EventBus("customers", KINDS)
subscribe = bus.subscribe
unsubscribe = bus.unsubscribe
listening = bus.listening


def customer_event(kind: str, *, customer_id: int, by, **details) -> None:
    """Emit `kind` for a client after the current transaction commits. `details` are the
    CustomerEvent fields of that kind (merged_id, fields, channel, granted)."""
    bus.emit(
        CustomerEvent(kind=kind, at=timezone.now(), actor_id=actor_id(by), customer_id=customer_id, **details)
    )
