"""Duplicate detection: the same phone is refused (customers.services), a similar name with the
same birthday is a warning the create form shows, and the merge page resolves real duplicates."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q

from customers.models import Customer
from customers.search import name_pinyin
from customers.services.profiles import phone_normalise


def phone_e164_or_blank(phone) -> str:
    """E.164 for a lookup; '' for empty or invalid input (a lookup never raises)."""
    try:
        return phone_normalise(phone)
    except ValidationError:
        return ""


def find_phone_owner(phone, *, exclude_pk: int | None = None) -> Customer | None:
    """The client who already has this phone (typed in any format), or None. One query."""
    e164 = phone_e164_or_blank(phone)
    if not e164:
        return None
    return Customer.objects.filter(phone=e164).exclude(pk=exclude_pk).first()


def similar_customers(*, name: str, birthday: date | None, exclude_pk: int | None = None) -> list[Customer]:
    """Clients who may be the same person: same birthday and the same name, or the same name
    read aloud (same full pinyin: 张三 / 章三; 'Emily Clark' / 'emily clark'). Nothing without
    a birthday - a name alone is far too common. Erased clients are not candidates. One query."""
    name = (name or "").strip()
    if not name or birthday is None:
        return []
    full, _initials = name_pinyin(name)
    same_name = Q(name__iexact=name)
    if full:
        same_name |= Q(name_pinyin=full)
    qs = Customer.objects.active().filter(same_name, birthday=birthday).exclude(pk=exclude_pk)
    return list(qs.order_by("pk")[:10])
