"""The stylist's service record (服务记录) for one item: products used, notes, result, and the
colour formula written with it (one transaction: a refused formula saves no record)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location, role_of, staff_of
from accounts.models import Role
from appointments.models import AppointmentItem, Product, ServiceRecord
from customers.services import ShadeInput, formula_create


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
) -> ServiceRecord:
    """Create or replace the record of one item, with a new colour formula for the item's client
    if given (customers.services.formula_create: health-write rights needed). A stylist writes
    records of their own items."""
    item = AppointmentItem.objects.select_related(
        "appointment__location", "appointment__customer", "staff"
    ).get(pk=item.pk)
    if not by.has_perm("appointments.add_servicerecord"):
        raise PermissionDenied(_("You may not write service records."))
    require_location(by, item.appointment.location)
    me = staff_of(by)
    if role_of(by) == Role.STYLIST and (me is None or me.pk != item.staff_id):
        raise PermissionDenied(_("Stylists write records of their own services only."))
    saved_formula = None
    if formula is not None:
        saved_formula = formula_create(
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
