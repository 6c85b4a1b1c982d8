"""Structured logs (django-structlog): one JSON object a line in production, readable lines in
development, every line of a request (and of the tasks it sent) carrying its request id.

- `logging_config(fmt)` is settings.LOGGING: one stderr handler whose formatter is structlog's
  ProcessorFormatter, so the project's plain `logging.getLogger(__name__)` calls and the
  libraries' (Django, Celery, django-axes) come out in the same shape as structlog's own events,
  with the request's bound context (request_id, user_id, ip) merged in.
- `configure_structlog()` is structlog's side, called once from the settings.
- The receivers below are django-structlog's documented hooks: they honour a well-formed
  incoming X-Request-ID, echo the id in the response's X-Request-ID, log the path without its
  query string (a search box sends phone numbers and names there) and with signed link tokens
  masked, take the client address the way django-axes does, and keep only the request id and
  the user id in what travels to a Celery task.

What is never logged: query strings, form bodies, names, phone numbers, health text. The user
is their id; the project's own log calls name ids, never people.
"""

import re
import sys
from typing import Any

import structlog

# An incoming X-Request-ID (from a load balancer, nginx's $request_id, another service) is kept
# when it looks like an id: 8 to 64 letters, digits and . _ : -. Anything else is replaced, so a
# client cannot write arbitrary text (or a line break) into every line of its request.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
REQUEST_ID_HEADER = "X-Request-ID"
# What a task's log lines inherit from the request that sent it (the client address stays behind).
TASK_CONTEXT_KEYS = ("request_id", "user_id", "parent_task_id")

FORMATS = ("json", "console")


def _shared_processors() -> list:
    """What every line gets, whether it came from structlog or from a stdlib logger."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(fmt: str) -> dict:
    """The dictConfig entry of the formatter for `fmt` ("json" or "console")."""
    if fmt == "json":
        # One JSON object a line; a traceback is one string field ("exception").
        processors = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ]
    else:
        processors = [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),  # no colour codes in files
        ]
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": processors,
        # No ExtraAdder: Django passes the request object as `extra`, whose repr holds the query string.
        "foreign_pre_chain": _shared_processors(),
    }


def logging_config(fmt: str, level: str = "INFO") -> dict:
    """settings.LOGGING: everything to stderr through the structlog formatter of `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {FORMATS}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {fmt: formatter(fmt)},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["console"], "level": level},
        # django-health-check logs a traceback for every probe that finds Redis or the database
        # down (every 15 s per node); the readiness answer already says what is down.
        "loggers": {"health_check": {"level": "ERROR"}},
    }


def configure_structlog() -> None:
    """structlog's loggers hand their events to the stdlib handler above (one output, one shape)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


# ---- django-structlog's hooks (its RequestMiddleware: salon_crm.middleware) -----------------------


def request_line(request) -> str:
    """'GET /customers/42/': the path without its query string, signed tokens masked.

    Django's signed values (booking manage links, survey, unsubscribe and payment links) read
    'payload:signature'; a path segment with a colon is one of them, and it is a key to one
    client's booking, so it is written as <token>."""
    path = "/".join("<token>" if ":" in part else part for part in request.path.split("/"))
    return f"{request.method} {path}"


def incoming_request_id(request) -> str | None:
    value = request.headers.get(REQUEST_ID_HEADER, "")
    return value if REQUEST_ID.fullmatch(value) else None


def bind_request(request, logger, log_kwargs: dict, **kwargs) -> None:
    """bind_extra_request_metadata: before "request_started" is logged."""
    from salon_crm.ratelimit import client_address

    incoming = incoming_request_id(request)
    if incoming:
        structlog.contextvars.bind_contextvars(request_id=incoming)
    # The address the lockout and the rate limits count (AXES_PROXY_COUNT), not whatever
    # X-Forwarded-For a client sends.
    structlog.contextvars.bind_contextvars(ip=client_address(request))
    log_kwargs["request"] = request_line(request)


def current_request_id() -> str | None:
    return structlog.contextvars.get_contextvars().get("request_id")


def finish_request(request, logger, response, log_kwargs: dict, **kwargs) -> None:
    """bind_extra_request_finished_metadata: the id goes back in the response's header."""
    log_kwargs["request"] = request_line(request)
    request_id = current_request_id()
    if request_id:
        response[REQUEST_ID_HEADER] = request_id


def fail_request(request, logger, exception, log_kwargs: dict, **kwargs) -> None:
    """bind_extra_request_failed_metadata: "request_failed" (a view raised) logs the same line.
    A database that is unreachable, read-only or full is one line per request, not a traceback
    each: every request fails the same way until it is back (salon_crm.unavailable, whose
    classification this shares, answers them 503)."""
    from salon_crm.unavailable import database_unavailable

    log_kwargs["request"] = request_line(request)
    if database_unavailable(exception) is not None:
        log_kwargs["exc_info"] = False
        log_kwargs["error"] = exception.__class__.__name__


def failure_response(request, response, logger, exception, **kwargs) -> None:
    """update_failure_response: a 500 (or the 503 of a database outage) says its id too, so a
    person reporting it can quote the id that finds its traceback."""
    request_id = current_request_id()
    if request_id:
        response[REQUEST_ID_HEADER] = request_id


def task_context(sender, signal, context: dict, **kwargs: Any) -> None:
    """modify_context_before_task_publish: only the request id and the user id travel in the
    task's message headers."""
    kept = {key: context[key] for key in TASK_CONTEXT_KEYS if key in context}
    context.clear()
    context.update(kept)


def connect() -> None:
    """Called from SalonCrmConfig.ready()."""
    from django_structlog import signals
    from django_structlog.celery import signals as celery_signals

    signals.bind_extra_request_metadata.connect(bind_request, dispatch_uid="salon_crm.logs.bind")
    signals.bind_extra_request_finished_metadata.connect(finish_request, dispatch_uid="salon_crm.logs.finish")
    signals.bind_extra_request_failed_metadata.connect(fail_request, dispatch_uid="salon_crm.logs.fail")
    signals.update_failure_response.connect(failure_response, dispatch_uid="salon_crm.logs.failure")
    celery_signals.modify_context_before_task_publish.connect(
        task_context, dispatch_uid="salon_crm.logs.task"
    )


def setup_celery_logging(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Celery's setup_logging signal: the worker and beat log through settings.LOGGING (the same
    JSON lines as the web) instead of Celery's own format; `-l LEVEL` still sets the level."""
    import logging
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
