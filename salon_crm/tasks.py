from celery import shared_task
from django.utils import timezone


@shared_task(name="salon_crm.tasks.heartbeat")
def heartbeat() -> str:
    """Proves a worker is consuming the queue; beat schedules it every five minutes."""
    return timezone.now().isoformat()
