"""The stylist's service record (服务记录) for one item: products used, notes, result, and the
colour formula written with it (one transaction: a refused formula saves no record)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location, role_of, staff_of
from accounts.models import Role
from appointments.models import AppointmentItem, Product, Service, ServiceRecord
from appointments.services import rules
from appointments.services.checks import safety_gate
from customers.models import Customer
from customers.safety import SafetyWarning, customer_safety_warnings
from customers.services import ShadeInput
from customers.services.formulas import formula_create_or_version


@dataclass(frozen=True)
class _ColourApplied:
    """A service in the shape customers.safety.customer_safety_warnings reads, that needs a
    patch test: a formula says colour touched the skin."""

    name: str
    requires_patch_test: bool = True


def formula_safety_warnings(*, customer: Customer, service: Service, on: date) -> list[SafetyWarning]:
    """What stands against writing a colour formula for `customer` on the record of `service`
    on date `on`: a patch test that is missing, pending or expired when the service needs one
    (the catalogue decides: a PPD-free colour may not), and a failed one whatever the service
    (a reaction on file, and colour was applied). Saving the formula then needs a reason."""
    warnings = customer_safety_warnings(customer, [_ColourApplied(name=service.name)], on=on)
    return [w for w in warnings if _counts_for_formula(service)(w)]


def _counts_for_formula(service: Service) -> Callable[[SafetyWarning], bool]:
    def counts(warning: SafetyWarning) -> bool:
        if warning.code == "patch_test_failed":
            return True
        return service.requires_patch_test and warning.code.startswith("patch_test")

    return counts


@dataclass(frozen=True)
class FormulaIn:
    """A colour formula written with the record (the item's client and stylist)."""

    brand: str
    shades: list[ShadeInput]
    developer: str = ""
    processing_minutes: int | None = None


@transaction.atomic
def service_record_write(
    *,
    item: AppointmentItem,
    by,
    notes: str,
    result: str,
    products: Iterable[Product] = (),
    formula: FormulaIn | None = None,
    override_reason: str = "",
) -> ServiceRecord:
    """Create or replace the record of one item, with a colour formula for the item's client if
    given (customers.services.formulas.formula_create_or_version: the next version of the
    client's formula of that brand and base shade, else a new one; health-write rights needed). A stylist writes
    records of their own items. A formula for a client whose patch test is missing, failed,
    pending or expired (on the item's day: formula_safety_warnings) needs `override_reason`
    (SafetyWarningsError without; recorded as a safety override with context "service
    record"): nothing is saved."""
    item = AppointmentItem.objects.select_related(
        "appointment__location", "appointment__customer", "staff", "service"
    ).get(pk=item.pk)
    if not by.has_perm("appointments.add_servicerecord"):
        raise PermissionDenied(_("You may not write service records."))
    require_location(by, item.appointment.location)
    me = staff_of(by)
    if role_of(by) == Role.STYLIST and (me is None or me.pk != item.staff_id):
        raise PermissionDenied(_("Stylists write records of their own services only."))
    saved_formula = None
    if formula is not None:
        # formula_safety_warnings' rule, which the page shows beside the formula.
        safety_gate(
            customer=item.appointment.customer,
            services=[_ColourApplied(name=item.service.name)],
            by=by,
            override_reason=override_reason,
            context="service record",
            on=rules.local_date(item.appointment.location, item.start),
            only=_counts_for_formula(item.service),
        )
        # The client's formula of that brand and base shade gets its next version (not a new v1).
        saved_formula = formula_create_or_version(
            customer=item.appointment.customer,
            stylist=item.staff,
            user=by,
            brand=formula.brand,
            shades=formula.shades,
            developer=formula.developer,
            processing_minutes=formula.processing_minutes,
            result_notes=result or "",
        )
    record, _created = ServiceRecord.objects.get_or_create(item=item, defaults={"written_by": me})
    record.notes = notes or ""
    record.result = result or ""
    record.formula = saved_formula
    record.written_by = me
    record.written_at = timezone.now()
    record.full_clean(exclude=["item", "formula", "written_by"])
    record.save()
    record.products_used.set(list(products))
    return record
