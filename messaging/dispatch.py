"""The dispatcher: drains due rows of the outbox, at most once per idempotency key.

One pass claims a batch of due, queued rows (`SELECT … FOR UPDATE SKIP LOCKED`, then a short
lease, so two workers never take the same rows and a dead worker's rows come back when its
lease ends) and sends them one by one. Each message is taken by a conditional
`UPDATE … SET status='sending' WHERE status='queued'` right before it goes out: only one worker
can win that, and a worker killed after it leaves that one row `sending`, which the next pass
turns into `unknown` for a person to check with the provider (never re-sent blindly). The rows
it had claimed but not begun go out on the next pass.

The rules are applied at send time, in this order: the client is erased → suppressed; the
appointment it is about was cancelled, moved or has started → suppressed; do-not-contact →
suppressed (urgent kinds, a code the client asked for, excepted); marketing without consent on
that channel → suppressed; the marketing cap → suppressed; quiet hours in the location's zone →
deferred to their end (not dropped; urgent kinds excepted)."""

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentStatus
from messaging import channels, kinds
from messaging.channels.base import Outgoing, PermanentError, TransientError, UnknownOutcome
from messaging.models import OutboundMessage

logger = logging.getLogger(__name__)
S = OutboundMessage.Status


@dataclass
class PassResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    deferred: int = 0
    retried: int = 0
    unknown: int = 0
    skipped: int = 0  # taken by another worker first
    by_status: dict = field(default_factory=dict)

    def add(self, other: "PassResult") -> None:
        for name in ("claimed", "sent", "failed", "suppressed", "deferred", "retried", "unknown", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# ---- quiet hours and caps -------------------------------------------------------------------------


def _parse(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def quiet_hours_end(tz: ZoneInfo, moment: datetime) -> datetime | None:
    """The end of the quiet hours (settings.MESSAGING_QUIET_HOURS, local wall clock, possibly
    across midnight) if `moment` falls inside them, else None."""
    start, end = (_parse(v) for v in settings.MESSAGING_QUIET_HOURS)
    if start == end:
        return None
    local = moment.astimezone(tz)
    now = local.time()
    inside = (start <= now or now < end) if start > end else (start <= now < end)
    if not inside:
        return None
    day = local.date() if now < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz)


def _cap_reached(customer_id: int, now: datetime) -> bool:
    count, days = settings.MESSAGING_MARKETING_CAP
    since = now - timedelta(days=days)
    sent = OutboundMessage.objects.filter(
        customer_id=customer_id,
        marketing=True,
        status__in=[S.SENT, S.DELIVERED, S.SENDING, S.UNKNOWN],
        sent_at__gte=since,
    ).count()
    return sent >= count


def _appointment_reason(message: OutboundMessage, appointments: dict, now: datetime) -> str:
    appointment = appointments.get(message.appointment_id)
    if appointment is None:
        return _("The appointment no longer exists.")
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        return _("The appointment was cancelled.")
    if message.appointment_version is not None and appointment.version != message.appointment_version:
        return _("The appointment was moved; a new message was planned.")
    if appointment.start <= now and message.kind != kinds.THANK_YOU:
        return _("Too late: the appointment has started.")
    return ""


def suppression(message: OutboundMessage, kind: kinds.Kind | None, appointments: dict, now: datetime) -> str:
    """Why `message` must not go out now ('' if it may)."""
    customer = message.customer
    if message.customer_id is None and not message.to:
        return _("The client's file was removed.")
    if customer is not None and customer.erased_at is not None:
        return _("The client's data was erased.")
    if message.appointment_id is not None:
        reason = _appointment_reason(message, appointments, now)
        if reason:
            return reason
    urgent = bool(kind and kind.urgent)
    if customer is not None and customer.do_not_contact and not urgent:
        return _("The client asked not to be contacted.")
    if message.marketing:
        if customer is None or not getattr(customer, f"consent_{message.channel}", False):
            return _("No marketing consent on this channel.")
        if _cap_reached(customer.pk, now):
            count, days = settings.MESSAGING_MARKETING_CAP
            return _("Marketing cap reached: %(n)s in %(d)s days.") % {"n": count, "d": days}
    return ""


# ---- one pass ---------------------------------------------------------------------------------


def _claim(batch_size: int, now: datetime) -> list[int]:
    """Due queued rows, locked past their lease, leased to this pass."""
    lease = now + timedelta(seconds=settings.MESSAGING_CLAIM_LEASE_SECONDS)
    with transaction.atomic():
        qs = (
            OutboundMessage.objects.filter(status=S.QUEUED, scheduled_for__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("scheduled_for", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("pk", flat=True)[:batch_size])
        if ids:
            OutboundMessage.objects.filter(pk__in=ids).update(claimed_until=lease)
    return ids


def mark_stale_unknown(now: datetime) -> int:
    """Rows left `sending` by a worker that died: unknown, for a person to check."""
    cutoff = now - timedelta(seconds=settings.MESSAGING_SENDING_TIMEOUT_SECONDS)
    return OutboundMessage.objects.filter(status=S.SENDING, claimed_at__lt=cutoff).update(
        status=S.UNKNOWN, reason=_("The worker stopped while sending; check with the provider.")
    )


def _finish(pk: int, **fields) -> None:
    OutboundMessage.objects.filter(pk=pk, status=S.SENDING).update(**fields)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _send_one(message: OutboundMessage, appointments: dict, now: datetime, result: PassResult) -> None:
    # The gate of "at most once": only one worker turns this row from queued to sending.
    taken = OutboundMessage.objects.filter(pk=message.pk, status=S.QUEUED, scheduled_for__lte=now).update(
        status=S.SENDING, claimed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not taken:
        result.skipped += 1
        return
    attempts = message.attempts + 1
    kind = kinds.get_kind(message.kind)
    reason = suppression(message, kind, appointments, now)
    if reason:
        _finish(message.pk, status=S.SUPPRESSED, reason=reason[:200])
        result.suppressed += 1
        return
    tz = message.location.tz if message.location else ZoneInfo(settings.TIME_ZONE)
    quiet_end = None if (kind and kind.urgent) else quiet_hours_end(tz, now)
    if quiet_end is not None:
        _finish(
            message.pk, status=S.QUEUED, scheduled_for=quiet_end, claimed_until=None, attempts=attempts - 1
        )
        result.deferred += 1
        return
    backend = channels.backend(message.channel)
    to = message.to or (backend.address(message.customer) if backend and message.customer else "")
    if backend is None or not to:
        _finish(message.pk, status=S.SUPPRESSED, reason=_("No way to reach the client on this channel."))
        result.suppressed += 1
        return
    template_id = _wechat_template_id(message)
    outgoing = Outgoing(
        key=message.idempotency_key,
        to=to,
        subject=message.subject,
        body=message.body,
        kind=message.kind,
        language=message.language,
        link=message.link,
        template_id=template_id,
    )
    try:
        provider_id = backend.send(outgoing)
    except TransientError as exc:
        if attempts >= settings.MESSAGING_MAX_ATTEMPTS:
            _finish(message.pk, status=S.FAILED, to=to, provider=backend.provider, last_error=exc.message[:500],
                    reason=_("Gave up after %(n)s attempts.") % {"n": attempts})  # fmt: skip
            result.failed += 1
        else:
            _finish(message.pk, status=S.QUEUED, to=to, provider=backend.provider, last_error=exc.message[:500],
                    scheduled_for=now + _backoff(attempts), claimed_until=None)  # fmt: skip
            result.retried += 1
        return
    except PermanentError as exc:
        _finish(message.pk, status=S.FAILED, to=to, provider=backend.provider, last_error=exc.message[:500],
                reason=exc.message[:200])  # fmt: skip
        result.failed += 1
        return
    except UnknownOutcome as exc:
        _finish(message.pk, status=S.UNKNOWN, to=to, provider=backend.provider, last_error=exc.message[:500],
                reason=_("The provider's answer was lost; check with the provider."))  # fmt: skip
        result.unknown += 1
        return
    _finish(message.pk, status=S.SENT, to=to, provider=backend.provider, provider_message_id=provider_id[:100],
            sent_at=timezone.now(), last_error="")  # fmt: skip
    result.sent += 1


def _wechat_template_id(message: OutboundMessage) -> str:
    """WeChat template messages name the Official Account's template (kept on our template)."""
    if message.channel != "wechat":
        return ""
    from messaging.services import template_text

    return template_text(message.kind, message.channel, message.language)[2]


def dispatch_pass(*, batch_size: int | None = None, now: datetime | None = None) -> PassResult:
    """Claim one batch of due messages and send them. Safe to run in any number of workers."""
    now = now or timezone.now()
    result = PassResult()
    result.unknown += mark_stale_unknown(now)
    ids = _claim(batch_size or settings.MESSAGING_BATCH_SIZE, now)
    result.claimed = len(ids)
    if not ids:
        return result
    batch = list(
        OutboundMessage.objects.filter(pk__in=ids)
        .select_related("customer", "location")
        .order_by("scheduled_for", "pk")
    )
    appointment_ids = {m.appointment_id for m in batch if m.appointment_id is not None}
    appointments = Appointment.objects.only("pk", "status", "version", "start").in_bulk(appointment_ids)
    threads = settings.MESSAGING_SEND_THREADS if connection.vendor == "postgresql" else 1
    if threads <= 1 or len(batch) == 1:
        _send_chunk(batch, appointments, now, result)
        return result
    # A provider call is mostly waiting: a few threads each send a share of the batch (each on
    # its own database connection, closed when its share is done).
    chunks = [batch[n::threads] for n in range(threads)]
    results = [PassResult() for _ in chunks]
    workers = [
        threading.Thread(target=_send_chunk, args=(chunk, appointments, now, part, True))
        for chunk, part in zip(chunks, results, strict=True)
        if chunk
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for part in results:
        result.add(part)
    return result


def _send_chunk(
    messages: list[OutboundMessage],
    appointments: dict,
    now: datetime,
    result: PassResult,
    own_connection=False,
) -> None:
    try:
        for message in messages:
            try:
                _send_one(message, appointments, now, result)
            except Exception:  # a bug in one message must not stop the batch; it stays visible
                logger.exception("dispatching message %s failed", message.pk)
                _finish(message.pk, status=S.UNKNOWN, reason=_("An error in the dispatcher; check the logs."))
                result.unknown += 1
    finally:
        if own_connection:
            connection.close()


def dispatch_until_done(*, budget_seconds: float = 50.0, batch_size: int | None = None) -> PassResult:
    """Passes until nothing is due or the time budget is spent (a beat tick's worth)."""
    started = timezone.now()
    total = PassResult()
    while True:
        result = dispatch_pass(batch_size=batch_size)
        total.add(result)
        if not result.claimed or (timezone.now() - started).total_seconds() > budget_seconds:
            return total


def due_count(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return OutboundMessage.objects.filter(status=S.QUEUED, scheduled_for__lte=now).count()
