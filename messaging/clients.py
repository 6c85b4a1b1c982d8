"""messaging's part of the client's data rights and of merging two clients:

- merge (in the merge's transaction): the absorbed client's messages move to the kept client;
- erasure: the client's messages keep their status and dates (the delivery log's counts) but
  lose their text and address, and any still queued are withdrawn;
- export: what was sent to the client, when, on which channel.

Registered from MessagingConfig.ready()."""

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services import (
    MergeHandler,
    customer_rows_count,
    reassign_customer_rows,
    register_erase_hook,
    register_export_section,
    register_merge_handler,
    relation_label,
)
from messaging.models import OutboundMessage

S = OutboundMessage.Status


def preview_rows(*, keep: Customer, merge: Customer) -> dict[str, int]:
    return {
        relation_label(OutboundMessage, "customer"): customer_rows_count(
            OutboundMessage, "customer", customer=merge
        )
    }


def merge_rows(*, keep: Customer, merge: Customer, by) -> dict[str, int]:
    return {
        relation_label(OutboundMessage, "customer"): reassign_customer_rows(
            OutboundMessage, "customer", keep=keep, merge=merge
        )
    }


def erase(customer: Customer) -> None:
    mine = OutboundMessage.objects.filter(customer=customer)
    mine.filter(status=S.QUEUED).update(status=S.SUPPRESSED, reason=_("The client's data was erased."))
    mine.update(to="", subject="", body="", link="", context={})


def export(customer: Customer) -> list[dict]:
    return [
        {
            "kind": m.kind,
            "channel": m.channel,
            "to": m.to,
            "subject": m.subject,
            "text": m.body,
            "scheduled_for": m.scheduled_for,
            "status": m.status,
            "sent_at": m.sent_at,
            "delivered_at": m.delivered_at,
        }
        for m in OutboundMessage.objects.filter(customer=customer).order_by("scheduled_for", "pk")
    ]


def register() -> None:
    register_merge_handler(MergeHandler("messaging", preview=preview_rows, merge=merge_rows))
    register_erase_hook("messaging", erase)
    register_export_section("messages", export)
