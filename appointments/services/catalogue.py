"""Catalogue and schedule edits from the manager pages (services, categories, products,
resources, working hours, time off). Managers act on their own locations only."""

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.access import can_act_at


def _location_ids(instance: models.Model) -> set[int]:
    """The locations an object belongs to (none for chain-wide rows)."""
    if hasattr(instance, "location_id"):
        return {instance.location_id}
    if hasattr(instance, "staff_id") and instance.staff_id:
        return set(instance.staff.locations.values_list("pk", flat=True))
    return set()


@transaction.atomic
def catalogue_save(*, instance: models.Model, by, m2m: dict | None = None) -> models.Model:
    """Validate and save one catalogue row. `m2m` sets many-to-many fields after the save
    (e.g. a service's locations)."""
    if not by.has_perm("appointments.manage_catalogue"):
        raise PermissionDenied(_("Only managers edit the catalogue."))
    ids = _location_ids(instance)
    if ids and not any(can_act_at(by, pk) for pk in ids):
        raise PermissionDenied(_("You cannot act at this location."))
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    return instance
