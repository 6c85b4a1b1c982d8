"""When the database cannot do its part: a clean 503 with a message, never a 500 storm.

A PostgreSQL restart, a failover, a full disk or a database switched to read-only for
maintenance reach a view as an exception from the driver, wherever the first query happens
(the session, the user, the view, the session save on the way out). They all end in Django's
handler500, which is `server_error` below: it looks at the exception being handled and answers
503 with Retry-After and a message people can act on (JSON for the API, a small page that
needs no database for the rest); any other exception keeps Django's 500.

Nothing is half-written: every write of a request runs in its service's transaction, which the
driver's error has already rolled back. Connections recover by themselves: CONN_HEALTH_CHECKS
(settings) tests a persistent connection before a request reuses it, and a connection that
failed is closed at the end of its request, so the first request after the database is back
reconnects. tests/salon_crm/test_faults.py restarts a real cluster under requests.
"""

import logging
import sys

from django.db import InterfaceError, InternalError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

READ_ONLY = "read_only"
OUT_OF_RESOURCES = "out_of_resources"
UNREACHABLE = "unreachable"

# SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html)
_READ_ONLY_SQL_TRANSACTION = "25006"
_INSUFFICIENT_RESOURCES = "53"  # 53100 disk_full, 53200 out_of_memory, 53300 too_many_connections

RETRY_AFTER = {UNREACHABLE: 5, OUT_OF_RESOURCES: 30, READ_ONLY: 60}


def _pgcode(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, wherever Django's wrapper keeps it."""
    for candidate in (exc, exc.__cause__):
        code = getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def database_unavailable(exc: BaseException | None) -> str | None:
    """Why the database could not serve this request, or None when `exc` is something else.

    Read-only (a replica promoted late, `default_transaction_read_only` for maintenance), out of
    disk, memory or connections, or not reachable at all (restart, failover, network): each is
    the database's state, not the request's fault, and passes without any change to the app.
    """
    if exc is None:
        return None
    code = _pgcode(exc)
    if code == _READ_ONLY_SQL_TRANSACTION and isinstance(exc, InternalError):
        return READ_ONLY
    if code and code.startswith(_INSUFFICIENT_RESOURCES):
        return OUT_OF_RESOURCES
    if isinstance(exc, OperationalError | InterfaceError):
        # Connection refused or lost, the server shutting down or starting up (57P01, 57P03),
        # a statement cancelled by statement_timeout: all pass by themselves.
        return UNREACHABLE
    return None


def _message(reason: str, wrote: bool) -> str:
    if reason == READ_ONLY:
        text = _(
            "The database is read-only for maintenance. You can look things up; changes cannot be saved until it is back."
        )
    elif reason == OUT_OF_RESOURCES:
        text = _("The database has run out of space or capacity. Tell your administrator; try again later.")
    else:
        text = _("The salon's database cannot be reached right now. Try again in a few seconds.")
    if wrote:
        text = _("%(problem)s Nothing you sent was saved.") % {"problem": text}
    return text


def unavailable_response(request: HttpRequest, reason: str) -> HttpResponse:
    """The 503 itself: JSON under /api/, else a page rendered without a request context
    (context processors read the database)."""
    wrote = request.method not in ("GET", "HEAD", "OPTIONS")
    message = _message(reason, wrote)
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"code": f"database_{reason}", "detail": message}, status=503)
    else:
        body = loader.get_template("503.html").render({"message": message, "reason": reason})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER[reason])
    return response


class QuietUnavailable(logging.Filter):
    """On the django.request logger: a 503 of ours keeps its one line ("Service Unavailable:
    /path") without the driver's traceback. During a restart every request would add one, and
    the log that should show what else went wrong fills with the same stack;
    `server_error` has already said why in a line of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503:
            record.exc_info = None
            record.exc_text = None
        return True


def server_error(request: HttpRequest, template_name: str = defaults.ERROR_500_TEMPLATE_NAME) -> HttpResponse:
    """handler500: a database that is down, read-only or full answers 503; the rest is a 500
    (JSON under /api/, Django's page elsewhere)."""
    exc = sys.exc_info()[1]
    reason = database_unavailable(exc)
    if reason is not None:
        logger.warning("database %s: %s %s answered 503 (%s)", reason, request.method, request.path_info, exc)
        return unavailable_response(request, reason)
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    return defaults.server_error(request, template_name)
