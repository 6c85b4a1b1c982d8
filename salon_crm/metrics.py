"""Prometheus metrics: django-prometheus's request metrics, the project's own, and `/metrics`.

- Requests (django-prometheus's middleware): latency by view, responses by status, ...
- Collected when Prometheus scrapes, from the database (one indexed query each): the apps
  register a collector here from their AppConfig.ready() (`register_collector`); messaging's
  outbox metrics are one (messaging/metrics.py).
- Counted as things happen: failed logins (Django's user_login_failed signal, which django-axes
  records too), and in the Celery worker the tasks that succeeded, failed or were retried,
  served by the worker itself on CELERY_METRICS_PORT.

gunicorn runs several worker processes, each with its own counters: with PROMETHEUS_MULTIPROC_DIR
set (docker-compose sets it; gunicorn.conf.py makes one when it is not set) every process writes
its values to files there and a scrape adds them up (prometheus_client's multiprocess mode).

`/metrics` is not for the world: it answers with `Authorization: Bearer <METRICS_TOKEN>` when a
token is configured; without one, only to a loopback or private REMOTE_ADDR that came through no
proxy. Anything else is a 404 (a scanner learns nothing). docs/operations.md, "Observability".
"""

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _ensure_multiprocess_dir() -> None:
    """prometheus_client writes a file there as soon as a metric is created: make sure it exists."""
    path = multiprocess_dir()
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)


_ensure_multiprocess_dir()

LOGIN_FAILURES = Counter(
    "salon_login_failures",
    "Failed logins (wrong password or a locked-out attempt), as django-axes records them.",
)
TASKS = Counter(
    "salon_celery_tasks",
    "Celery tasks finished by the worker, by task name and outcome (succeeded, failed, retried).",
    ["task", "outcome"],
)


# ---- collectors the apps register (read at scrape time) -------------------------------------------

_collectors: dict[str, Collector] = {}


def register_collector(key: str, collector: Collector) -> None:
    """Add `collector` to what `/metrics` answers (its collect() runs at every scrape: keep it to
    one indexed query per metric). Registering the same key again replaces it."""
    _collectors[key] = collector


def unregister_collector(key: str) -> None:
    _collectors.pop(key, None)


class _Scrape:
    """Everything one scrape answers: this process's metrics, or every gunicorn worker's in
    multiprocess mode, then the registered collectors."""

    def __init__(self, base: Any):
        self.base = base

    def collect(self) -> Iterator[Metric]:
        yield from self.base.collect()
        for key, collector in list(_collectors.items()):
            try:
                yield from collector.collect()
            except Exception:  # a failing collector must not take the request metrics with it
                logger.warning("metrics collector %r failed", key, exc_info=True)


def process_metrics() -> Any:
    """This process's registry, or in multiprocess mode all processes' values added up."""
    if multiprocess_dir():
        return MultiProcessCollector(None)
    return REGISTRY


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    # Behind a load balancer every request arrives from a private address: one that names a
    # client in a forwarding header came from outside, whatever REMOTE_ADDR says.
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_private


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The Prometheus scrape endpoint (text exposition format)."""
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(generate_latest(_Scrape(process_metrics())), content_type=CONTENT_TYPE_LATEST)


# ---- failed logins --------------------------------------------------------------------------------


def count_login_failure(sender: Any = None, **kwargs: Any) -> None:
    """user_login_failed: the username is not a label (it would be a person's name in the
    metrics, and an attacker could grow the series without bound)."""
    LOGIN_FAILURES.inc()


# ---- Celery: counted in the worker, served by the worker ------------------------------------------


def _task_name(sender: Any) -> str:
    return getattr(sender, "name", None) or str(sender)


def task_succeeded(sender: Any = None, **kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="succeeded").inc()


def task_failed(sender: Any = None, **kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="failed").inc()


def task_retried(sender: Any = None, **kwargs: Any) -> None:
    TASKS.labels(task=_task_name(sender), outcome="retried").inc()


def worker_init(**kwargs: Any) -> None:
    """Celery's worker_init (the worker's main process, before the pool starts its children,
    which inherit the receivers). With CELERY_METRICS_PORT set in multiprocess mode, the files
    of earlier runs are removed, as prometheus_client asks (this process's own are kept)."""
    from celery import signals

    signals.task_success.connect(task_succeeded, dispatch_uid="salon_crm.metrics.success")
    signals.task_failure.connect(task_failed, dispatch_uid="salon_crm.metrics.failure")
    signals.task_retry.connect(task_retried, dispatch_uid="salon_crm.metrics.retry")
    path = multiprocess_dir()
    if settings.CELERY_METRICS_PORT and path:
        remove_stale_files(Path(path), keep_pid=os.getpid())


def remove_stale_files(path: Path, keep_pid: int | None = None) -> int:
    """Remove prometheus_client's value files (<kind>_<pid>.db) but those of `keep_pid`."""
    removed = 0
    for file in path.glob("*.db"):
        if keep_pid is not None and file.stem.rsplit("_", 1)[-1] == str(keep_pid):
            continue
        file.unlink(missing_ok=True)
        removed += 1
    return removed


def worker_ready(**kwargs: Any) -> None:
    """Celery's worker_ready (main process): serve the task counters on CELERY_METRICS_PORT."""
    if settings.CELERY_METRICS_PORT:
        serve_task_metrics(settings.CELERY_METRICS_PORT, settings.CELERY_METRICS_ADDR)


def serve_task_metrics(port: int, addr: str) -> tuple[Any, Any]:
    """prometheus_client's own HTTP server in a thread of the worker's main process; with
    PROMETHEUS_MULTIPROC_DIR it adds up what the pool's children counted. Returns (server,
    thread)."""
    from prometheus_client import start_http_server

    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
        logger.warning(
            "PROMETHEUS_MULTIPROC_DIR is not set: only tasks run in the worker's main process "
            "(the solo pool) are counted; prefork children's counts need it"
        )
    served = start_http_server(port, addr=addr, registry=registry)
    logger.info("Celery task metrics on %s:%s/metrics", addr or "*", port)
    return served
