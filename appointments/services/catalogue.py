"""Catalogue and schedule edits from the manager pages (services, categories, products,
resources, working hours, time off). Managers act on their own locations only."""

from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils.translation import gettext as _

from accounts.access import can_act_at
from appointments.models import Service, ServiceCategory

IMPORTED_CATEGORY = "Imported"


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


@transaction.atomic
def service_create_imported(*, names: Iterable[str]) -> dict[str, int]:
    """{name: pk} for every name, creating the ones not in the catalogue as inactive services
    (60 minutes, price 0, offered nowhere) in the "Imported" category: history imports keep
    the names services were sold under, and nobody can book them. Names longer than a
    service name's 100 characters are cut. For the system (import commands): no permission
    check."""
    wanted = {name: name.strip()[:100] for name in names if name and name.strip()}
    found = dict(Service.objects.filter(name__in=set(wanted.values())).values_list("name", "pk"))
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        category, _created = ServiceCategory.objects.get_or_create(name=IMPORTED_CATEGORY)
        for name in missing:
            service = Service(
                category=category, name=name, duration_minutes=60, price=Decimal("0"), is_active=False
            )
            service.full_clean()
            service.save()
            found[name] = service.pk
    return {name: found[stored] for name, stored in wanted.items()}
