"""Who sees what of a client file (DESIGN.md, Roles): phone masking and health access."""

import re
from collections.abc import Callable

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from phonenumber_field.phonenumber import to_python

from accounts.access import role_of, staff_of
from accounts.models import Role, StaffMember


def mask_phone(phone) -> str:
    """138****5678 for a Chinese mobile; for other numbers keep the first 3 and last 4 digits of
    the national number. Empty in, empty out."""
    if not phone:
        return ""
    return _mask_national(str(getattr(phone, "national_number", "") or "") or re.sub(r"\D", "", str(phone)))


def _mask_national(national: str) -> str:
    if len(national) <= 7:
        return national[:2] + "*" * max(len(national) - 4, 1) + national[-2:]
    return national[:3] + "*" * (len(national) - 7) + national[-4:]


def can_see_full_phone(user: AbstractBaseUser) -> bool:
    return user.has_perm("customers.view_full_phone")


def format_phone(phone) -> str:
    """National format for numbers of the default region (138 0013 8000), international for
    the rest (+44 7911 123456): the national form of a foreign number would be re-read as a
    local one when it comes back from a form."""
    if not phone:
        return ""
    if not hasattr(phone, "country_code"):
        return str(phone)
    return _format_parsed(phone)


def _format_parsed(phone) -> str:
    if phonenumbers.region_code_for_number(phone) == settings.PHONENUMBER_DEFAULT_REGION:
        return phone.as_national
    return phone.as_international


def display_phone(user: AbstractBaseUser, phone) -> str:
    """The phone as this user may see it: in full (format_phone), or masked."""
    if not phone:
        return ""
    if can_see_full_phone(user):
        return format_phone(phone)
    return mask_phone(phone)


def _display_parsed(value, full: bool) -> str:
    phone = to_python(value)
    if not phone.national_number:  # unparsable text: the general path decides
        return format_phone(phone) if full else mask_phone(phone)
    # A parsed number is never empty: skip the emptiness test, which formats it (~20 µs).
    return _format_parsed(phone) if full else _mask_national(str(phone.national_number))


# What stored texts look like shown, in full and masked, per process: parsing and formatting a
# number costs ~0.1 ms, and a day calendar shows hundreds of them on every refresh. Bounded;
# keyed by the default region too, which decides national or international form.
_SHOWN: dict[tuple[bool, str, str], str] = {}
_SHOWN_MAX = 20_000


def phone_display_for(user: AbstractBaseUser) -> Callable[[object], str]:
    """display_phone with the permission decided once, for a list of stored values (E.164
    text or PhoneNumber): each number is parsed once, as the model field would on load; a text
    is parsed and formatted once per process."""
    full = can_see_full_phone(user)
    region = settings.PHONENUMBER_DEFAULT_REGION

    def display(value) -> str:
        if not value:
            return ""
        if type(value) is not str:
            return _display_parsed(value, full)
        key = (full, region, value)
        shown = _SHOWN.get(key)
        if shown is None:
            if len(_SHOWN) >= _SHOWN_MAX:
                _SHOWN.clear()
            shown = _SHOWN[key] = _display_parsed(value, full)
        return shown

    return display


def can_read_health(user: AbstractBaseUser) -> bool:
    return user.has_perm("customers.view_health")


# ---- health write rule ----------------------------------------------------------------------
# DESIGN.md: stylists read health and formulas, and write them "for their clients". A client is
# a stylist's when they are the preferred stylist, wrote a formula for them, or a registered
# check says so (appointments registers "has a booking with them").

StylistClientCheck = Callable[[StaffMember, object], bool]  # check(staff, customer) -> bool
_STYLIST_CLIENT_CHECKS: list[StylistClientCheck] = []


def register_stylist_client_check(check: StylistClientCheck) -> None:
    if check not in _STYLIST_CLIENT_CHECKS:
        _STYLIST_CLIENT_CHECKS.append(check)


def unregister_stylist_client_check(check: StylistClientCheck) -> None:
    if check in _STYLIST_CLIENT_CHECKS:
        _STYLIST_CLIENT_CHECKS.remove(check)


def is_stylists_client(staff: StaffMember, customer) -> bool:
    if customer.pk is None:
        return False
    if customer.preferred_staff_id == staff.pk:
        return True
    if customer.formulas.filter(stylist=staff).exists():
        return True
    return any(check(staff, customer) for check in _STYLIST_CLIENT_CHECKS)


def can_write_health(user: AbstractBaseUser, customer) -> bool:
    """Health fields and formulas: owners and managers always; stylists for their clients only;
    receptionists never (they lack customers.change_health)."""
    if not user.has_perm("customers.change_health"):
        return False
    if role_of(user) != Role.STYLIST:
        return True
    staff = staff_of(user)
    return staff is not None and is_stylists_client(staff, customer)


def redact_for_audit(value: str) -> str:
    """auditlog mask for encrypted fields: the change history says *that* a health field was
    set or cleared, never what it says (it is plain JSON in the database)."""
    return "[redacted]" if value else ""
