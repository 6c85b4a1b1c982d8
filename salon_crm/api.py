"""API plumbing shared by every app: the one exception handler and small helpers."""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
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
        logger.info("constraint violation mapped to 409: %s", exc)
        return Response(
            {"code": "conflict", "detail": "This conflicts with existing data; reload and try again."},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
