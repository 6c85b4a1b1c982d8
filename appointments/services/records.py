"""The stylist's service record (服务记录) for one item: products used, notes, result, formula."""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_location, role_of, staff_of
from accounts.models import Role
from appointments.models import AppointmentItem, Product, ServiceRecord
from customers.models import ColourFormula


@transaction.atomic
def service_record_write(
    *,
    item: AppointmentItem,
    by,
    notes: str,
    result: str,
    products: Iterable[Product] = (),
    formula: ColourFormula | None = None,
) -> ServiceRecord:
    """Create or replace the record of one item. A stylist writes records of their own items."""
    item = AppointmentItem.objects.select_related("appointment__location").get(pk=item.pk)
    if not by.has_perm("appointments.add_servicerecord"):
        raise PermissionDenied(_("You may not write service records."))
    require_location(by, item.appointment.location)
    me = staff_of(by)
    if role_of(by) == Role.STYLIST and (me is None or me.pk != item.staff_id):
        raise PermissionDenied(_("Stylists write records of their own services only."))
    if formula is not None and formula.customer_id != item.appointment.customer_id:
        raise ValidationError({"formula": [_("This formula belongs to another client.")]})
    record, _created = ServiceRecord.objects.get_or_create(item=item, defaults={"written_by": me})
    record.notes = notes or ""
    record.result = result or ""
    record.formula = formula
    record.written_by = me
    record.written_at = timezone.now()
    record.full_clean(exclude=["item", "formula", "written_by"])
    record.save()
    record.products_used.set(list(products))
    return record
