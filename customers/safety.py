"""Allergy and patch-test safety (reads). Booking, check-in and checkout call
`customer_safety_warnings`; going ahead despite warnings needs a reason, recorded by the
service customers.services.safety_override_record (who, when, which warnings, why)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, PatchTest


@dataclass(frozen=True)
class SafetyWarning:
    code: str  # "allergy", "contraindication", "patch_test_missing", "patch_test_expired", "patch_test_failed", "patch_test_pending"
    message: str
    service: str = ""


def customer_safety_warnings(
    customer: Customer, services: Iterable = (), *, on: date | None = None
) -> list[SafetyWarning]:
    """Warnings for serving `customer` with `services` (objects with `.name` and
    `.requires_patch_test`) on date `on` (today by default). Two queries at most."""
    on = on or timezone.localdate()
    warnings: list[SafetyWarning] = []
    if customer.allergies.strip():
        warnings.append(
            SafetyWarning("allergy", _("Allergy on file: %(text)s") % {"text": customer.allergies.strip()})
        )
    if customer.contraindications.strip():
        warnings.append(
            SafetyWarning(
                "contraindication",
                _("Contraindication: %(text)s") % {"text": customer.contraindications.strip()},
            )
        )
    needing = [s for s in services if getattr(s, "requires_patch_test", False)]
    if needing:
        latest = PatchTest.objects.filter(customer=customer).order_by("-tested_on", "-pk").first()
        for service in needing:
            if latest is None:
                code, msg = "patch_test_missing", _("No patch test on file; %(service)s needs one.")
            elif latest.result == PatchTest.Result.FAILED:
                code, msg = "patch_test_failed", _("The last patch test (%(product)s) had a reaction.")
            elif latest.result == PatchTest.Result.PENDING:
                code, msg = "patch_test_pending", _("The patch test (%(product)s) has no result yet.")
            elif latest.valid_until < on:
                code, msg = "patch_test_expired", _("The patch test (%(product)s) expired on %(date)s.")
            else:
                continue
            params = {
                "service": service.name,
                "product": getattr(latest, "product", ""),
                "date": getattr(latest, "valid_until", ""),
            }
            warnings.append(SafetyWarning(code, msg % params, service=service.name))
    return warnings
