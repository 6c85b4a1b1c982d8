"""feedback's periodic work (Celery beat, settings.CELERY_BEAT_SCHEDULE): overdue complaint
cases escalate every hour, night included; overdue follow-up calls remind their caller each
morning. Thin wrappers over feedback.services."""

from celery import shared_task

from feedback import services


@shared_task(name="feedback.escalate_complaints")
def escalate_complaints() -> int:
    return services.complaints_escalate()


@shared_task(name="feedback.follow_up_reminders")
def follow_up_reminders() -> int:
    return services.follow_ups_remind()
