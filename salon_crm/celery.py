import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salon_crm.settings")

app = Celery("salon_crm")
# All CELERY_* settings come from Django settings (and so from the environment).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["salon_crm"])
