"""Health: `/healthz/live` (liveness) and `/healthz/ready` = `/healthz` (readiness), on
django-health-check's checks.

Liveness says the process answers; it checks nothing, so a database or Redis outage never gets
every web container restarted (which would not bring either back). Readiness is what a load
balancer asks before sending traffic:

```json
{"status": "degraded", "database": "ok", "cache": "error: ConnectionError", "broker": "error: OperationalError"}
```

503 only when the database is down: without it nothing works, so the load balancer should take
this node out. The cache or the broker down is 200 with status "degraded": bookings still work
(rate limits let requests through, task sends are logged and the outbox catches up), and taking
every web node out because Redis is down would turn a degraded service into none. Monitoring
alerts on "degraded". The cache and broker checks each give up after settings.REDIS_TIMEOUT
(their clients' socket timeouts); the database check after django-health-check's 5 s budget.

django-health-check's own HTML page is not routed: these two JSON answers are all it shows.
"""

import asyncio
import contextlib
import dataclasses
import datetime
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import ClassVar

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from health_check import checks
from health_check.base import HealthCheck, HealthCheckResult
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from health_check.views import HealthCheckView

OK = "ok"
NOT_CONFIGURED = "not configured (tasks run eagerly)"


# Each check says which field of the answer it fills (`key`), and turns any exception of its
# client into "down" reported by the exception's class (as /healthz always has: `error:
# OperationalError`), never django-health-check's generic "unknown error".


@dataclasses.dataclass
class Database(checks.Database):
    key: ClassVar[str] = "database"

    def run(self) -> None:
        try:
            super().run()
        except HealthCheckException:
            raise
        except Exception as exc:
            raise ServiceUnavailable(exc.__class__.__name__) from exc


@dataclasses.dataclass
class Cache(checks.Cache):
    key: ClassVar[str] = "cache"

    async def run(self) -> None:
        try:
            await super().run()
        except HealthCheckException:
            raise
        except Exception as exc:
            raise ServiceUnavailable(exc.__class__.__name__) from exc


@dataclasses.dataclass
class Broker(HealthCheck):
    """Celery's broker answers a connection (the workers are not asked: a web node can take
    bookings without them, and the outbox catches up)."""

    key: ClassVar[str] = "broker"

    @property
    def timeout(self) -> datetime.timedelta:  # the wall-clock budget django-health-check applies
        return datetime.timedelta(seconds=settings.REDIS_TIMEOUT)

    def run(self) -> None:
        from salon_crm.celery import app

        try:
            with app.connection_for_write() as conn:
                # One try, bounded by broker_connection_timeout (settings.REDIS_TIMEOUT).
                conn.ensure_connection(
                    max_retries=1, interval_start=0, interval_step=0, timeout=settings.REDIS_TIMEOUT
                )
        except Exception as exc:
            raise ServiceUnavailable(exc.__class__.__name__) from exc


def describe(result: HealthCheckResult) -> str:
    """'ok', or 'error: <the client's exception class>' (the check's message when it had none,
    e.g. django-health-check's own timeout)."""
    error = result.error
    if error is None:
        return OK
    cause = error.__cause__
    return f"error: {cause.__class__.__name__}" if cause is not None else f"error: {error.message}"


@contextlib.contextmanager
def _threads() -> Iterator[Executor]:
    """Threads for the blocking checks that never hold the answer back: a check past its budget
    is abandoned (its thread ends with its client's own timeout), not waited for."""
    executor = ThreadPoolExecutor(max_workers=3, thread_name_prefix="healthz")
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


class ReadinessView(HealthCheckView):
    """`/healthz/ready` and `/healthz`: the checks run side by side (django-health-check)."""

    checks = (Database, Cache, Broker)

    def get_executor(self):
        return _threads()

    def get_checks(self):
        for check in super().get_checks():
            if isinstance(check, Broker) and not settings.CELERY_BROKER_URL:
                continue
            yield check

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        report = {"database": OK, "cache": OK, "broker": NOT_CONFIGURED}
        report.update({result.check.key: describe(result) for result in results})
        if report["database"] != OK:
            status = "error"
        elif any(value.startswith("error") for value in report.values()):
            status = "degraded"
        else:
            status = OK
        return JsonResponse({"status": status, **report}, status=503 if status == "error" else 200)


readiness = ReadinessView.as_view()


@never_cache
def liveness(request):
    """`/healthz/live`: the process answers. Nothing else is checked, on purpose."""
    return JsonResponse({"status": OK})
