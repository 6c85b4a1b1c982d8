"""The client's messages on the card's history timeline: one query of at most `limit` rows."""

from django.utils.translation import gettext as _

from customers.timeline import TimelineEvent, register
from messaging import kinds
from messaging.models import OutboundMessage


def _label(key: str) -> str:
    kind = kinds.get_kind(key)
    return str(kind.label) if kind else key


def message_events(*, customer, user, limit: int) -> list[TimelineEvent]:
    if not user.has_perm("customers.view_customer"):
        return []
    rows = (
        OutboundMessage.objects.filter(customer=customer)
        .exclude(status=OutboundMessage.Status.QUEUED)
        .order_by("-scheduled_for", "-pk")[:limit]
    )
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
        for m in rows
    ]


def register_source() -> None:
    register("messages", message_events)
