"""Writes for accounts: every change of a staff member's role goes through here, so the
user's group always matches the role."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Location, Role, StaffMember

User = get_user_model()


@transaction.atomic
def staff_set_role(*, staff: StaffMember, role: str) -> StaffMember:
    """Put the user in exactly the group of their role (other groups are left alone)."""
    role = Role(role)
    staff.role = role
    staff.full_clean()
    staff.save(update_fields=["role"])
    # Owners and managers use the Django admin for set-up; other roles never see it.
    is_staff = role in (Role.OWNER, Role.MANAGER) or staff.user.is_superuser
    if staff.user.is_staff != is_staff:
        staff.user.is_staff = is_staff
        staff.user.save(update_fields=["is_staff"])
    role_groups = Group.objects.filter(name__in=Role.values)
    staff.user.groups.remove(*role_groups.exclude(name=role))
    group, _ = Group.objects.get_or_create(name=role)
    staff.user.groups.add(group)
    return staff


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str | None,
    display_name: str,
    role: str,
    locations: Iterable[Location] = (),
    is_bookable: bool | None = None,
    calendar_colour: str = "#6c757d",
    email: str = "",
) -> StaffMember:
    """Create a login and its staff record. Stylists are bookable unless told otherwise."""
    user = User(username=username, email=email, is_staff=role in (Role.OWNER, Role.MANAGER))
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    staff = StaffMember(
        user=user,
        display_name=display_name,
        role=role,
        is_bookable=(role == Role.STYLIST) if is_bookable is None else is_bookable,
        calendar_colour=calendar_colour,
    )
    staff.full_clean()
    staff.save()
    staff.locations.set(list(locations))
    staff_set_role(staff=staff, role=role)
    return staff
