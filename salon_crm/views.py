import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.cache import never_cache


def _error(exc: Exception) -> str:
    return f"error: {exc.__class__.__name__}"


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_cache() -> str:
    key = "healthz:probe"
    value = str(time.time_ns())
    cache.set(key, value, 30)
    if cache.get(key) != value:
        return "error: value not kept"
    return "ok"


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "not configured (tasks run eagerly)"
    from salon_crm.celery import app

    with app.connection_for_write() as conn:
        # One try, bounded by broker_connection_timeout (settings.REDIS_TIMEOUT).
        conn.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=settings.REDIS_TIMEOUT
        )
    return "ok"


@never_cache
def healthz(request):
    """What is up, for load balancers and people: the database, the cache, the broker.

    503 only when the database is down: without it nothing works, so the load balancer should
    take this node out. The cache or the broker down is 200 with status "degraded": bookings
    still work (rate limits let requests through, task sends are logged and the outbox catches
    up), and taking every web node out because Redis is down would turn a degraded service into
    none. Monitoring alerts on "degraded". Each check costs at most settings.REDIS_TIMEOUT.
    """
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("cache", _check_cache), ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any driver error means "down"; say which
            checks[name] = _error(exc)
    if checks["database"] != "ok":
        status = "error"
    elif any(value.startswith("error") for value in checks.values()):
        status = "degraded"
    else:
        status = "ok"
    return JsonResponse({"status": status, **checks}, status=503 if status == "error" else 200)


def favicon(request):
    """/favicon.ico, which browsers (and bots) ask for whatever a page links: the static icon
    (static/img/favicon.ico, its hashed URL in production; pages link it and favicon.svg in
    templates/base.html). Not permanent, so a new icon is picked up."""
    return redirect(static("img/favicon.ico"))
