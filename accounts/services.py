"""Writes for accounts: locations, staff (every change of a staff member's role goes through
here, so the user's group always matches the role) and API tokens."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

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
def location_create(
    *, code: str, name: str, time_zone: str = "Asia/Shanghai", address: str = "", phone: str = ""
) -> Location:
    """A new location (门店). `code` is its short URL code (unique); ValidationError on any bad
    field."""
    location = Location(code=code, name=name, time_zone=time_zone, address=address, phone=phone)
    location.full_clean()
    location.save()
    return location


@transaction.atomic
def staff_create(
    *,
    username: str,
    password: str | None,
    display_name: str,
    role: str,
    locations: Iterable[Location | int] = (),
    is_bookable: bool | None = None,
    calendar_colour: str = "#6c757d",
    email: str = "",
    is_active: bool = True,
) -> StaffMember:
    """Create a login and its staff record. Stylists are bookable unless told otherwise; no
    password means a login that cannot sign in with one. is_active=False records someone who
    no longer works here (imported history): neither the login nor the staff record is active."""
    user = User(
        username=username, email=email, is_staff=role in (Role.OWNER, Role.MANAGER), is_active=is_active
    )
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
        is_active=is_active,
    )
    staff.full_clean()
    staff.save()
    staff.locations.set(list(locations))
    staff_set_role(staff=staff, role=role)
    return staff


def api_token_for(*, user) -> Token:
    """The user's API token, created on first use."""
    token, _created = Token.objects.get_or_create(user=user)
    return token
