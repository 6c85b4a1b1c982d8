"""Beat: the roll-ups rebuilt nightly, and the days a checkout or a void touched every five
minutes (analytics.rollups)."""

from celery import shared_task

from analytics import rollups


@shared_task(name="analytics.rebuild")
def rebuild() -> dict:
    return rollups.rebuild()


@shared_task(name="analytics.rebuild_dirty")
def rebuild_dirty() -> dict:
    return rollups.rebuild_dirty()
