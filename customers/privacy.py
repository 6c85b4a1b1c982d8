"""Who sees what of a client file (DESIGN.md, Roles): phone masking and health access."""

import re

from django.contrib.auth.models import AbstractBaseUser


def mask_phone(phone) -> str:
    """138****5678 for a Chinese mobile; for other numbers keep the first 3 and last 4 digits of
    the national number. Empty in, empty out."""
    if not phone:
        return ""
    national = str(getattr(phone, "national_number", "") or "") or re.sub(r"\D", "", str(phone))
    if len(national) <= 7:
        return national[:2] + "*" * max(len(national) - 4, 1) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def can_see_full_phone(user: AbstractBaseUser) -> bool:
    return user.has_perm("customers.view_full_phone")


def display_phone(user: AbstractBaseUser, phone) -> str:
    """The phone as this user may see it: national format in full, or masked."""
    if not phone:
        return ""
    if can_see_full_phone(user):
        return getattr(phone, "as_national", None) or str(phone)
    return mask_phone(phone)


def can_read_health(user: AbstractBaseUser) -> bool:
    return user.has_perm("customers.view_health")
