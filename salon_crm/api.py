"""API plumbing shared by every app: the one exception handler and small helpers."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from salon_crm.errors import Conflict

logger = logging.getLogger(__name__)


def validation_error_detail(exc: DjangoValidationError) -> dict:
    """Field errors in DRF's shape: {"field": ["message", ...]}; errors without a field
    go under "non_field_errors"."""
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    """One place that maps domain errors to HTTP: Django ValidationError → 400 with field
    errors, PermissionDenied → 403, Conflict and database constraint violations → 409.
    Nothing a client sends should end in a 500."""
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(detail=validation_error_detail(exc))
    elif isinstance(exc, PermissionDenied):
        exc = DRFPermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, Conflict):
        return Response(
            {"code": exc.code, "detail": str(exc.message), **exc.extra}, status=status.HTTP_409_CONFLICT
        )
    elif isinstance(exc, IntegrityError):
        # A unique or exclusion constraint caught what the service's own check could not see
        # (a race). The state is unchanged: the transaction was rolled back.
        # PostgreSQL's message repeats the clashing values ("Key (phone)=(+86138...)"): log the
        # constraint's name, never the client's data.
        diag = getattr(exc.__cause__, "diag", None)
        logger.info("constraint violation mapped to 409: %s", getattr(diag, "constraint_name", None) or exc)
        return Response(
            {"code": "conflict", "detail": "This conflicts with existing data; reload and try again."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL under /api/ that matches no route (`/api/v1/visits/abc/`) answers in
    the API's own shape, JSON `{"detail"}`, like every other API error; pages keep Django's."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


# ---- the error answers in the OpenAPI schema ------------------------------------------------------


class ApiErrorOutput(serializers.Serializer):
    """401, 403, 404, 405, 429: DRF's `{"detail"}`; the project adds a `code` where a client
    acts on it (`otp_required`, `locked_out`, `rate_limited`...)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ApiConflictOutput(serializers.Serializer):
    """409: the state does not allow it (`invalid_status`), the slot was taken (`slot_taken`,
    with `staff`, `start`, `end`), or a constraint caught a race (`conflict`)."""

    code = serializers.CharField()
    detail = serializers.CharField()


FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "Field errors: each field's name → its messages (a list; an object for a nested "
    "input or a list of them, keyed by position); `non_field_errors` for the rest; `detail` for a "
    "body that cannot be parsed.",
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give (the one
    exception handler above, the NUL check, handler404), so a client, and schemathesis in CI,
    can hold every response to the schema: 400 everywhere (field errors; any parameter can
    carry a NUL), 401 and 403 where a login is needed, 404 with an id in the path, 409 for
    writes, 429 on public endpoints (rate limits). What a view documents itself wins."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in self._error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _error_responses(self) -> dict[str, OpenApiResponse]:
        public = all(isinstance(p, AllowAny) for p in self.view.get_permissions())
        found: dict[str, OpenApiResponse] = {
            "400": OpenApiResponse(FIELD_ERRORS, description="Invalid input"),
        }
        if not public:
            found["401"] = OpenApiResponse(ApiErrorOutput, description="Not logged in")
            found["403"] = OpenApiResponse(ApiErrorOutput, description="Not allowed (role, location)")
        if "{" in self.path:
            found["404"] = OpenApiResponse(ApiErrorOutput, description="Not found, or not yours to see")
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            found["409"] = OpenApiResponse(ApiConflictOutput, description="Conflicts with the current state")
        if public:
            found["429"] = OpenApiResponse(ApiErrorOutput, description="Too many requests")
        return found


def document_server_limits(result, generator, request, public):
    """drf-spectacular post-processing hook: every operation may be answered 414 by the web
    server in front of Django (gunicorn refuses a request line over 4,094 bytes before the API
    sees it), so the schema says so instead of promising only the API's own answers."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "414", {"description": "Request line too long (refused by the web server)."}
                )
    return result
