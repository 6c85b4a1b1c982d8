"""Beat: the roll-ups rebuilt nightly, and the days a checkout or a void touched every five
minutes (analytics.rollups). After either has changed the roll-ups (and committed), the default
dashboard of the chain and of each location is computed into the cache (dashboard.prewarm), so the
first manager after a refresh gets a warm page."""

import logging

from celery import shared_task

from analytics import dashboard, rollups

log = logging.getLogger(__name__)


def _prewarm(reason: str) -> dict:
    """Never fails the refresh: a pre-warm that goes wrong only leaves the cache cold."""
    try:
        done = dashboard.prewarm()
    except Exception:
        log.exception("analytics: dashboard pre-warm after %s failed", reason)
        return {"dashboards": 0, "seconds": None}
    log.info(
        "analytics: %s dashboards pre-warmed after %s in %.2f s", done["dashboards"], reason, done["seconds"]
    )
    return done


@shared_task(name="analytics.rebuild")
def rebuild() -> dict:
    result = rollups.rebuild()  # committed on return (its own transaction)
    return {**result, "prewarm": _prewarm("the nightly rebuild")}


@shared_task(name="analytics.rebuild_dirty")
def rebuild_dirty() -> dict:
    before = rollups.generation()
    result = rollups.rebuild_dirty()  # committed on return
    if rollups.generation() == before:  # nothing changed (no dirty day), or no cache
        return result
    return {**result, "prewarm": _prewarm("a refresh of the dirty days")}


@shared_task(name="analytics.campaign_send", acks_late=True)
def campaign_send_task(campaign_id: int) -> int:
    """A large campaign's coupons and messages (analytics.campaigns.campaign_send): safe to run
    again after a worker died, every coupon and message is keyed by (campaign, client)."""
    from analytics.campaigns import campaign_send

    return campaign_send(campaign_id=campaign_id)


@shared_task(name="analytics.campaigns_resume")
def campaigns_resume() -> int:
    """Campaigns still launching ten minutes after their launch (a worker died mid-send, or the
    broker was down when the send was queued): send the rest. The keys send nothing twice."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics.campaigns import campaign_send
    from analytics.models import Campaign

    stuck = Campaign.objects.filter(
        status=Campaign.Status.LAUNCHING, launched_at__lt=timezone.now() - timedelta(minutes=10)
    ).values_list("pk", flat=True)
    return sum(campaign_send(campaign_id=pk) for pk in stuck)
