"""Project-wide tasks, and `enqueue`: the one way code running in a request sends a task."""

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def send(task, *args, **kwargs) -> bool:
    """Publish `task(*args, **kwargs)` now. Never raises, never waits on results: a broker that
    is down or does not answer within settings.REDIS_TIMEOUT (one quick retry) is logged as a
    warning and the call returns False."""
    try:
        task.apply_async(args=args, kwargs=kwargs, ignore_result=True)
    except Exception as exc:  # the broker's errors vary by transport; all mean "not sent"
        eager = task.app.conf.task_always_eager  # no broker: the task itself failed, show where
        logger.warning(
            "Task %s not enqueued (%s: %s)%s",
            task.name,
            exc.__class__.__name__,
            exc,
            "" if eager else "; is the broker down?",
            exc_info=eager,
        )
        return False
    return True


def enqueue(task, *args, **kwargs) -> bool:
    """The way code in a request sends a task: `send` once the current transaction commits (at
    once outside one; nothing is sent if it rolls back).

    A failed send never turns the committed request into an error or a long wait. Work that
    must not be lost is written to the database first (the messaging outbox) and picked up again
    by a periodic task, so a failed enqueue only delays it.

    Returns `send`'s answer when it ran at once, True when it waits for the commit.
    """
    outcome: list[bool] = []
    # Outside a transaction on_commit runs at once, so `outcome` is already filled on return.
    transaction.on_commit(lambda: outcome.append(send(task, *args, **kwargs)))
    return outcome[0] if outcome else True


@shared_task(name="salon_crm.tasks.heartbeat", ignore_result=False)
def heartbeat() -> str:
    """Proves a worker is consuming the queue; beat schedules it every five minutes. Keeps its
    result (unlike other tasks) so a check can read it back through the result backend."""
    return timezone.now().isoformat()
