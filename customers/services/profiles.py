"""Writes to the client profile: create, update, quick-add, tags and marketing consent."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers import events
from customers.models import ConsentChannel, ConsentRecord, Customer, SourceChannel, Tag
from customers.privacy import can_write_health
from customers.search import derive_search_fields
from salon_crm.validators import validate_single_line_text

HEALTH_FIELDS = ("allergies", "contraindications", "medical_notes")
# What a stylist (change_health, no change_customer) may edit on their clients' files.
HEALTH_CARD_FIELDS = ("skin_type", "skin_notes", "hair_type", "hair_notes", *HEALTH_FIELDS)
# The one client profile field list. EDITABLE_FIELDS: what a person edits on the client card's
# form and through the API (both derive their fields from it; tags are handled apart).
EDITABLE_FIELDS = (
    "name",
    "phone",
    "email",
    "gender",
    "birthday",
    "source",
    "preferred_staff",
    "home_location",
    "language",
    "skin_type",
    "skin_notes",
    "hair_type",
    "hair_notes",
    *HEALTH_FIELDS,
    "preferences",
    "notes",
)
# What a caller may set through customer_create / customer_update: the editable fields plus
# what imports, merges and referrals carry.
PROFILE_FIELDS = (
    *EDITABLE_FIELDS,
    "referred_by",
    "external_id",
    "wechat_openid",  # set by the WeChat integration when the client follows the account
    "created_at",  # imports carry the client's first-seen date
)
_TEXT_FIELDS = ("name", "email", "notes", "preferences", "skin_notes", "hair_notes", *HEALTH_FIELDS)
# Tags given in one request (form, API, one import row): a client is described by a handful;
# hundreds in one request is a script gone wrong, or an attempt to flood the tag list.
MAX_TAGS = 20
DUPLICATE_PHONE = "duplicate_phone"
_DUPLICATE_MESSAGE = gettext_lazy("This phone number is already on file for %(name)s (client #%(pk)s).")


def phone_normalise(raw: Any) -> str:
    """E.164 ('+8613800138000') from what a person typed ('138 0013 8000', '+86 138...');
    '' for empty. Invalid numbers raise ValidationError on `phone`."""
    text = str(raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [_("Enter a valid phone number.")]}, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _refuse_duplicate_phone(phone: str, *, exclude_pk: int | None = None) -> None:
    """The same phone is refused with the existing client named; its pk travels in the error's
    params so a page can link to the card (see duplicate_phone_owner)."""
    if not phone:
        return
    existing = Customer.objects.filter(phone=phone).exclude(pk=exclude_pk).only("pk", "name").first()
    if existing is not None:
        error = ValidationError(
            _DUPLICATE_MESSAGE, code=DUPLICATE_PHONE, params={"name": existing.name, "pk": existing.pk}
        )
        raise ValidationError({"phone": [error]})


def duplicate_phone_owner(exc: ValidationError) -> int | None:
    """The pk of the client who already has the phone, if `exc` is a duplicate-phone refusal."""
    for error in getattr(exc, "error_dict", {}).get("phone", []):
        if error.code == DUPLICATE_PHONE:
            return error.params["pk"]
    return None


def _check_health_write(user, customer: Customer, data: dict[str, Any]) -> None:
    if user is None:  # management commands and imports act as the system
        return
    touched = [f for f in HEALTH_FIELDS if f in data and (data[f] or "") != (getattr(customer, f) or "")]
    if touched and not can_write_health(user, customer):
        raise PermissionDenied(_("You may not change this client's health information."))


def _apply(customer: Customer, data: dict[str, Any]) -> list[str]:
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown client fields: {sorted(unknown)}")
    changed = []
    for field, value in data.items():
        if field == "phone":
            value = phone_normalise(value) or None
        elif field in _TEXT_FIELDS:
            value = (value or "").strip()
        elif field in ("external_id", "wechat_openid"):
            value = (value or "").strip() or None
        if getattr(customer, field) != value:
            setattr(customer, field, value)
            changed.append(field)
    return changed


def tags_check(names: Iterable[str | Tag]) -> list[str | Tag]:
    """The tags of one request (names trimmed, repeats and blanks dropped), refused with a
    ValidationError on `tags` when there are more than MAX_TAGS, or a name is longer than 40
    characters or holds a control character, a tab or a line break."""
    items = list(dict.fromkeys(str(n).strip() if not isinstance(n, Tag) else n for n in names))
    items = [n for n in items if n != ""]
    if len(items) > MAX_TAGS:
        raise ValidationError({"tags": [_("Give at most %(max)s tags.") % {"max": MAX_TAGS}]})
    for name in items:
        if isinstance(name, Tag):
            continue
        if len(name) > Tag._meta.get_field("name").max_length:
            raise ValidationError({"tags": [_("A tag name has at most 40 characters.")]})
        try:
            validate_single_line_text(name)
        except ValidationError as exc:
            raise ValidationError({"tags": exc.messages}) from exc
    return items


def _tags_from_names(names: Iterable[str | Tag], *, user) -> list[Tag]:
    """Tags by name (or Tag objects). A name not on file becomes a new tag only for the system
    (user None) or a user with customers.add_tag; anyone else may only use existing tags, and an
    unknown name is a ValidationError on `tags` naming it (nothing is created)."""
    tags: list[Tag] = []
    wanted: list[str] = []
    for item in tags_check(names):
        if isinstance(item, Tag):
            tags.append(item)
            continue
        name = str(item).strip()[:40]
        if name and name not in wanted:
            wanted.append(name)
    found = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    unknown = [n for n in wanted if n not in found]
    if unknown and user is not None and not user.has_perm("customers.add_tag"):
        message = _("Unknown tag: %(names)s. Choose an existing tag; a manager can add new ones.")
        raise ValidationError({"tags": [message % {"names": ", ".join(unknown)}]}, code="unknown_tag")
    for name in wanted:
        tag = found.get(name)
        if tag is None:
            tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    return tags


@transaction.atomic
def customer_create(
    *, user, name: str, phone: str = "", tags: Iterable[str | Tag] = (), **fields: Any
) -> Customer:
    """A new client. `fields` are any of PROFILE_FIELDS; `tags` names or Tag objects (an unknown
    name is created only with customers.add_tag, see _tags_from_names). A phone already on file
    is refused (ValidationError on phone). Emits CREATED after commit."""
    customer = Customer()
    data = {"name": name, "phone": phone, **fields}
    _check_health_write(user, customer, data)
    _apply(customer, data)
    _refuse_duplicate_phone(customer.phone and str(customer.phone))
    derive_search_fields(customer)
    customer.full_clean(exclude=["phone"])  # phone: normalised and checked above
    customer.save()
    if tags:
        customer.tags.set(_tags_from_names(tags, user=user))
    events.customer_event(events.CREATED, customer_id=customer.pk, by=user)
    return customer


def _set_tags(customer: Customer, tags: Iterable[str | Tag], *, user) -> bool:
    """Set the client's tags; True if they changed."""
    wanted = _tags_from_names(tags, user=user)
    before = set(customer.tags.values_list("pk", flat=True))
    customer.tags.set(wanted)
    return before != {t.pk for t in wanted}


@transaction.atomic
def customer_update(*, user, customer: Customer, data: dict[str, Any]) -> Customer:
    """Change the given fields (PROFILE_FIELDS, plus "tags" as names); only changed columns are
    written. Health fields need can_write_health (PermissionDenied otherwise). Emits UPDATED
    after commit, naming the changed fields, when anything changed."""
    data = dict(data)
    tags = data.pop("tags", None)
    _check_health_write(user, customer, data)
    changed = _apply(customer, data)
    if "phone" in changed:
        _refuse_duplicate_phone(customer.phone and str(customer.phone), exclude_pk=customer.pk)
    if changed:
        derived = derive_search_fields(customer) if {"name", "phone"} & set(changed) else []
        customer.full_clean(exclude=["phone"])  # phone: normalised and checked above
        customer.save(update_fields=[*changed, *derived, "updated_at"])
    if tags is not None and _set_tags(customer, tags, user=user):
        changed.append("tags")
    if changed:
        events.customer_event(events.UPDATED, customer_id=customer.pk, fields=tuple(changed), by=user)
    return customer


def customer_quick_add(*, user, name: str, phone: str) -> Customer:
    """A walk-in: name and phone only, source 'walk-in'."""
    return customer_resolve(user=user, customer=NewCustomer(name=name, phone=phone))


@dataclass(frozen=True)
class NewCustomer:
    """A client typed in (name and phone) where a booking, a walk-in or a waitlist entry is made.
    The service that books resolves it with customer_resolve inside its own transaction, so a
    refused booking leaves no client behind (and the next try does not find the phone "on file")."""

    name: str
    phone: str
    source: str = SourceChannel.WALK_IN


def customer_resolve(*, user, customer: "Customer | NewCustomer") -> Customer:
    """The client to act on: `customer` itself, or a new client created from a NewCustomer
    (name and phone required; a phone already on file is a ValidationError on `phone` naming
    that client). Call it inside the caller's transaction."""
    if isinstance(customer, Customer):
        return customer
    if not (customer.phone or "").strip():
        raise ValidationError({"phone": [_("A new client needs a phone number.")]})
    return customer_create(user=user, name=customer.name, phone=customer.phone, source=customer.source)


@transaction.atomic
def tag_create(*, name: str, colour: str = "#6c757d") -> Tag:
    tag = Tag(name=(name or "").strip(), colour=colour)
    tag.full_clean()
    tag.save()
    return tag


def tags_ensure(*, names: Iterable[str]) -> dict[str, Tag]:
    """{name: Tag} for every name (trimmed, at most 40 characters), the missing ones created:
    two queries whatever the number of names (bulk imports)."""
    wanted = {n.strip()[:40] for n in names if n and n.strip()}
    found = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    missing = [Tag(name=n) for n in sorted(wanted - set(found))]
    for tag in Tag.objects.bulk_create(missing):
        found[tag.name] = tag
    if missing and not all(t.pk for t in missing):  # SQLite before 3.35 returns no ids
        found = {t.name: t for t in Tag.objects.filter(name__in=wanted)}
    return found


def customer_tag_links_add(*, links: Iterable[tuple[int, int]]) -> None:
    """Add (customer_id, tag_id) links in bulk; links already there are kept, none is taken
    away (bulk imports: one batch after the last row instead of three queries a row)."""
    through = Customer.tags.through
    rows = [through(customer_id=c, tag_id=t) for c, t in dict.fromkeys(links)]
    through.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)


_CHANNEL_FLAG = {
    ConsentChannel.SMS: "consent_sms",
    ConsentChannel.EMAIL: "consent_email",
    ConsentChannel.WECHAT: "consent_wechat",
}


@transaction.atomic
def consent_set(
    *, customer: Customer, channel: str, granted: bool, method: str, user=None, note: str = ""
) -> ConsentRecord:
    """Record a consent decision (append-only history) and set the flag it governs.

    channel "all" is do-not-contact: withdrawing it (granted=False) sets do_not_contact and
    clears every channel; granting it lifts do_not_contact without opting into any channel.
    Granting one channel is an explicit opt-in, so it also lifts do_not_contact. Emits
    CONSENT_CHANGED after commit."""
    if channel not in ConsentChannel.values:
        raise ValidationError({"channel": [_("Unknown channel.")]})
    if not (method or "").strip():
        raise ValidationError({"method": [_("Say how the client gave or withdrew consent.")]})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    record = ConsentRecord(
        customer=customer,
        channel=channel,
        granted=granted,
        method=method.strip()[:32],
        recorded_by=user,
        recorded_at=timezone.now(),
        note=(note or "").strip()[:200],
    )
    record.full_clean()
    record.save()
    if channel == ConsentChannel.ALL:
        updates = {"do_not_contact": not granted}
        if not granted:
            updates.update({flag: False for flag in _CHANNEL_FLAG.values()})
    else:
        updates = {_CHANNEL_FLAG[channel]: granted}
        if granted:
            updates["do_not_contact"] = False
    for field, value in updates.items():
        setattr(customer, field, value)
    customer.save(update_fields=[*updates, "updated_at"])
    events.customer_event(
        events.CONSENT_CHANGED, customer_id=customer.pk, channel=channel, granted=granted, by=user
    )
    return record
