"""The one exception handler: 400 with field errors, 403, 409 - never a 500."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Location
from salon_crm.api import exception_handler
from salon_crm.errors import Conflict


def test_django_validation_error_becomes_400_with_field_errors():
    response = exception_handler(ValidationError({"phone": ["Enter a valid phone number."]}), {})
    assert response.status_code == 400
    assert response.data == {"phone": ["Enter a valid phone number."]}


def test_django_validation_error_without_field():
    response = exception_handler(ValidationError("Closed on that day."), {})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Closed on that day."]}


def test_permission_denied_becomes_403():
    response = exception_handler(PermissionDenied("no"), {})
    assert response.status_code == 403


def test_conflict_becomes_409_with_code():
    response = exception_handler(Conflict("Taken", code="slot_taken", extra={"staff": 3}), {})
    assert response.status_code == 409
    assert response.data == {"code": "slot_taken", "detail": "Taken", "staff": 3}


@pytest.mark.django_db
def test_real_constraint_violation_becomes_409():
    Location.objects.create(code="dup", name="A")
    try:
        with transaction.atomic():
            Location.objects.create(code="dup", name="B")
    except IntegrityError as exc:
        response = exception_handler(exc, {})
    assert response.status_code == 409
    assert response.data["code"] == "conflict"
    assert Location.objects.filter(code="dup").count() == 1  # nothing saved is lost
