"""Allergy and patch-test safety (reads). Booking, check-in and checkout call
`customer_safety_warnings`; going ahead despite warnings needs a reason, recorded by the
service customers.services.safety_override_record (who, when, which warnings, why).

A recorded override keeps each warning as its code and ids (safety_warning_record), never its
message: the message quotes the allergy text, which is health information and lives only in
the client's encrypted fields. safety_override_messages rebuilds readable lines from the codes."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, PatchTest, SafetyOverride


@dataclass(frozen=True)
class SafetyWarning:
    code: str  # "allergy", "contraindication", "patch_test_missing", "patch_test_expired", "patch_test_failed", "patch_test_pending"
    message: str
    service: str = ""
    patch_test: int | None = None  # the PatchTest a patch-test warning is about


# What a recorded override shows for each code (no health text: see the module docstring).
CODE_LABELS = {
    "allergy": gettext_lazy("Allergy on file"),
    "contraindication": gettext_lazy("Contraindication on file"),
    "patch_test_missing": gettext_lazy("No patch test on file"),
    "patch_test_failed": gettext_lazy("The last patch test had a reaction"),
    "patch_test_pending": gettext_lazy("The patch test has no result yet"),
    "patch_test_expired": gettext_lazy("The patch test has expired"),
}


def safety_warning_record(warning: SafetyWarning) -> dict:
    """What SafetyOverride.warnings keeps of a warning: its code, the service it is about and
    the patch test's id; never the message."""
    record: dict = {"code": warning.code}
    if warning.service:
        record["service"] = warning.service
    if warning.patch_test:
        record["patch_test"] = warning.patch_test
    return record


def safety_override_messages(override: SafetyOverride) -> list[str]:
    """The warnings an override went past, as lines rebuilt from their codes ("Allergy on file",
    "The patch test has expired: Colour (Wella Koleston, 2026-01-05)"). One query for the
    patch tests named."""
    records = [r for r in override.warnings or [] if isinstance(r, dict)]
    ids = {r["patch_test"] for r in records if isinstance(r.get("patch_test"), int)}
    tests = PatchTest.objects.filter(pk__in=ids, customer_id=override.customer_id).in_bulk() if ids else {}
    lines = []
    for record in records:
        code = str(record.get("code", ""))
        line = str(CODE_LABELS.get(code, code))
        if record.get("service"):
            line += f": {record['service']}"
        test = tests.get(record.get("patch_test"))
        if test is not None:
            line += f" ({test.product}, {test.tested_on.isoformat()})"
        lines.append(line)
    return lines


_LOOK_UP = object()


def customer_safety_warnings(
    customer: Customer, services: Iterable = (), *, on: date | None = None, latest_patch_test=_LOOK_UP
) -> list[SafetyWarning]:
    """Warnings for serving `customer` with `services` (objects with `.name` and
    `.requires_patch_test`) on date `on` (today by default). Two queries at most.
    `latest_patch_test` (a PatchTest or None): the client's latest test, when a list page has
    read them all at once; looked up here otherwise."""
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
        latest = latest_patch_test
        if latest is _LOOK_UP:
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
            warnings.append(
                SafetyWarning(
                    code, msg % params, service=service.name, patch_test=getattr(latest, "pk", None)
                )
            )
    return warnings
