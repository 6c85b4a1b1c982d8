"""The outbox's metrics, read when Prometheus scrapes `/metrics` (salon_crm.metrics).

Two queries per scrape, each on an index of OutboundMessage (under a millisecond with a million
rows in the table; counting every status would read the whole table at every scrape, 160 ms):

- the outbox's depth: the messages still open, by status (queued, sending, unknown):
  `SELECT status, COUNT(*) WHERE status IN (...) GROUP BY status`, an index-only range scan of
  message_status_idx; `salon_outbox_unknown_messages` is its `unknown` row, not another query.
  Sent, delivered, failed and suppressed messages are history (the delivery log), not depth;
- the oldest due message: `SELECT MIN(scheduled_for) WHERE status = 'queued' AND
  scheduled_for <= now` (message_due_idx, the dispatcher's own partial index: its first entry).

A due message older than a few minutes means the dispatcher (beat + worker) is not draining the
outbox; an `unknown` message is one a worker died while sending, for a person to check with the
provider (docs/messaging.md). The alerts are in docs/operations.md.
"""

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from messaging.models import OutboundMessage

S = OutboundMessage.Status
OPEN = (S.QUEUED, S.SENDING, S.UNKNOWN)


class OutboxCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        counts = dict(
            OutboundMessage.objects.filter(status__in=OPEN)
            .order_by()
            .values_list("status")
            .annotate(n=Count("*"))
        )
        by_status = GaugeMetricFamily(
            "salon_outbox_messages",
            "Messages still open in the outbox, by status (queued, sending, unknown).",
            labels=["status"],
        )
        for status in OPEN:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily(
            "salon_outbox_unknown_messages",
            "Messages whose send outcome is unknown (a worker stopped while sending): check with the provider.",
            value=counts.get(S.UNKNOWN, 0),
        )
        oldest = OutboundMessage.objects.filter(status=S.QUEUED, scheduled_for__lte=now).aggregate(
            oldest=Min("scheduled_for")
        )["oldest"]
        yield GaugeMetricFamily(
            "salon_outbox_oldest_due_age_seconds",
            "Age of the oldest queued message that is due (0 when none is): how far sending is behind.",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )


def register() -> None:
    """From MessagingConfig.ready()."""
    from salon_crm.metrics import register_collector

    register_collector("messaging.outbox", OutboxCollector())
