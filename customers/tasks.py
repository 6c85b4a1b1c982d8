"""customers' periodic work (Celery beat, settings.CELERY_BEAT_SCHEDULE): the nightly privacy
run. Thin: the services decide."""

from celery import shared_task

from customers.services.privacy_ops import access_alerts_raise, retention_apply


@shared_task(name="privacy.retention")
def retention() -> dict:
    """Erase the clients inactive past the owners' retention setting (nothing when it is off),
    then raise the unusual-volume alerts of yesterday and today (once per person and day; the
    owners are e-mailed through the messaging outbox)."""
    report = retention_apply()
    return {
        "retention_years": report.years,
        "erased": len(report.erased),
        "kept": len(report.kept),
        "skipped": len(report.skipped),
        "alerts": access_alerts_raise(),
    }
