"""The access-log row of a client card saved for offline reading (customers/offline.py)."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from customers.models import AccessLog, Customer


@transaction.atomic
def access_log_offline_copy(
    *, user, customer: Customer, tz: ZoneInfo, ip: str | None = None
) -> AccessLog | None:
    """One `offline_copy` row per user, client and local day (`tz`: the user's location's zone):
    the browser refreshes its copy on every load of the day page, and the log should say that a
    copy was kept, not count refreshes. Returns the new row, or None when today's is already
    there. (Two simultaneous first fetches may both write: a duplicate row, never a lost one.)"""
    now = timezone.now()
    since = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)  # local midnight
    already = AccessLog.objects.filter(
        customer=customer, user=user, action=AccessLog.Action.OFFLINE_COPY, at__gte=since
    ).exists()
    if already:
        return None
    return AccessLog.objects.create(
        user=user,
        customer=customer,
        action=AccessLog.Action.OFFLINE_COPY,
        detail="offline day view",
        ip_address=ip,
        at=now,
    )
