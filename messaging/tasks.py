"""Celery tasks of messaging: thin wrappers over messaging.dispatch.

Beat runs `dispatch_tick` every minute. It starts as many `dispatch_pass` tasks as there are
batches due (up to settings.MESSAGING_PARALLEL_PASSES), so every worker helps with a backlog;
each pass claims its own rows (SKIP LOCKED), so passes never collide. Nothing here uses an ETA:
the outbox's scheduled_for is the schedule."""

import math

from celery import shared_task
from django.conf import settings

from messaging import dispatch
from salon_crm.tasks import enqueue, send


@shared_task(name="messaging.dispatch_pass")
def dispatch_pass_task(budget_seconds: float = 50.0) -> dict:
    result = dispatch.dispatch_until_done(budget_seconds=budget_seconds)
    return {"claimed": result.claimed, "sent": result.sent, "unknown": result.unknown}


@shared_task(name="messaging.repair_appointment_messages")
def repair_appointment_messages_task() -> int:
    """Bookings whose messages were never planned (messaging.appointment_messages)."""
    from messaging.appointment_messages import repair_appointment_messages

    return repair_appointment_messages()


@shared_task(name="messaging.dispatch_tick")
def dispatch_tick() -> int:
    """Start passes for what is due now; the number started."""
    dispatch.mark_stale_unknown(dispatch.timezone.now())
    due = dispatch.due_count()
    passes = min(math.ceil(due / settings.MESSAGING_BATCH_SIZE), settings.MESSAGING_PARALLEL_PASSES)
    for _ in range(passes):
        send(dispatch_pass_task)
    return passes


def dispatch_soon() -> None:
    """A message due now was planned: send a pass after the commit (in the quick start, with no
    broker, it runs at once in-process), so a confirmation does not wait for the next tick."""
    enqueue(dispatch_pass_task, 10.0)
