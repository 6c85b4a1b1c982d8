"""The client's messages on the card's history timeline: at most `limit` rows, read in the
card's statement (customers.timeline)."""

from django.db.models import OuterRef
from django.utils.translation import gettext as _

from customers.timeline import TimelineEvent, register
from messaging import kinds
from messaging.models import OutboundMessage
from salon_crm.rows import build_all, rows


def _label(key: str) -> str:
    kind = kinds.get_kind(key)
    return str(kind.label) if kind else key


def message_reads(*, user, limit: int) -> dict:
    if not user.has_perm("customers.view_customer"):
        return {}
    return {
        "messages": rows(
            OutboundMessage.objects.filter(customer=OuterRef("pk"))
            .exclude(status=OutboundMessage.Status.QUEUED)
            .order_by("-scheduled_for", "-pk")[:limit],
            id="pk",
            sent_at="sent_at",
            scheduled_for="scheduled_for",
            channel="channel",
            status="status",
            kind="kind",
            reason="reason",
        )
    }


def message_events(*, customer, user, limit: int, data: dict) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            at=m.sent_at or m.scheduled_for,
            kind="message",
            title=_("%(channel)s %(status)s: %(kind)s")
            % {
                "channel": m.get_channel_display(),
                "status": m.get_status_display().lower(),
                "kind": _label(m.kind),
            },
            detail=m.reason
            if m.status in (OutboundMessage.Status.SUPPRESSED, OutboundMessage.Status.FAILED)
            else "",
        )
        for m in build_all(OutboundMessage, data.get("messages"))
    ]


def register_source() -> None:
    register("messages", message_events, reads=message_reads)
