import os

from celery import Celery, signals
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_crm.settings")

app = Celery("salon_crm")
# All CELERY_* settings come from Django settings (and so from the environment).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["salon_crm"])

# Observability (docs/operations.md). django-structlog's worker step: each task's log lines carry
# its task_id and the request_id (and user_id) of the request that sent it, from the message's
# headers (the web side adds them: DJANGO_STRUCTLOG_CELERY_ENABLED).
app.steps["worker"].add(DjangoStructLogInitStep)


@signals.setup_logging.connect
def _log_like_the_web(**kwargs) -> None:
    """The worker and beat log through settings.LOGGING (JSON lines), not Celery's own format."""
    from salon_crm.logs import setup_celery_logging

    setup_celery_logging(**kwargs)


@signals.worker_init.connect
def _count_tasks(**kwargs) -> None:
    """Task outcomes counted in the worker (salon_crm.metrics)."""
    from salon_crm.metrics import worker_init

    worker_init(**kwargs)


@signals.worker_ready.connect
def _serve_task_metrics(**kwargs) -> None:
    """The counts served on CELERY_METRICS_PORT, when it is set."""
    from salon_crm.metrics import worker_ready

    worker_ready(**kwargs)
