"""Merging duplicate clients through a registry of per-app merge handlers.

customers does not know the rows other apps keep about a client (appointments, visits, and later
loyalty balances, surveys, messages), so it never moves them itself: each app registers a
MergeHandler (from its AppConfig.ready()) that moves - or adds up - its own rows. customer_merge
calls every handler inside its own transaction, with both clients locked; a handler that raises
rolls the whole merge back. After the handlers, a safety net refuses the merge if any row of any
model still points at the absorbed client, so nothing is ever cascaded away unnoticed.

Counts are keyed "app_label.Model.field" (MergeRecord.moved, the preview page)."""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import events
from customers.models import Customer, MergeRecord
from customers.search import derive_search_fields
from customers.services.profiles import PROFILE_FIELDS
from salon_crm.errors import Conflict

# Health and notes: both texts are kept (an allergy on either file must survive the merge).
CONCAT_FIELDS = ("allergies", "contraindications", "medical_notes", "notes")
# Every other profile field is filled from the merged client only when the kept one has nothing
# there (derived from the services' list, so a new profile field is merged too).
FILL_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in ("name", "created_at", *CONCAT_FIELDS))
UNIQUE_FIELDS = ("phone", "external_id", "wechat_openid")

MergeCounts = dict[str, int]


@dataclass(frozen=True)
class MergeHandler:
    """One app's part of a merge.

    preview(*, keep, merge) -> counts: what merge() would move, without writing.
    merge(*, keep, merge, by) -> counts: move (or add up) the app's rows of `merge` onto `keep`,
    inside customer_merge's transaction, both clients locked. Raise Conflict or ValidationError
    to refuse: the whole merge is rolled back. Counts: {"app_label.Model.field": rows}, zeros
    left out."""

    key: str
    preview: Callable[..., MergeCounts]
    merge: Callable[..., MergeCounts]


_HANDLERS: dict[str, MergeHandler] = {}


def register_merge_handler(handler: MergeHandler) -> None:
    """Register (or replace) the handler of `handler.key`; apps call it from ready()."""
    _HANDLERS[handler.key] = handler


def unregister_merge_handler(key: str) -> None:
    _HANDLERS.pop(key, None)


def merge_handlers() -> dict[str, MergeHandler]:
    """{key: handler} in the order they run."""
    return dict(_HANDLERS)


@contextmanager
def merge_handler_registered(handler: MergeHandler) -> Iterator[None]:
    """Register `handler` for a `with` block (tests); the handler it replaced, if any, comes
    back afterwards."""
    previous = _HANDLERS.get(handler.key)
    register_merge_handler(handler)
    try:
        yield
    finally:
        if previous is None:
            unregister_merge_handler(handler.key)
        else:
            register_merge_handler(previous)


# ---- helpers for handlers --------------------------------------------------------------------


def relation_label(model: type[models.Model], field: str) -> str:
    """The key of a relation in merge counts: "app_label.Model.field"."""
    return f"{model._meta.app_label}.{model.__name__}.{field}"


def customer_rows_count(model: type[models.Model], field: str, *, customer: Customer) -> int:
    """How many rows of `model` point at `customer` through `field` (for a handler's preview)."""
    return model._base_manager.filter(**{field: customer}).count()


def _refuse_one_per_client_clash(model: type[models.Model], field: str, *, keep, merge) -> None:
    rows = model._base_manager.filter(**{field: merge})
    if rows.exists() and model._base_manager.filter(**{field: keep}).exists():
        # Two loyalty accounts, say: only their own app knows how to add them up.
        raise Conflict(
            _("Both clients have a %(what)s; resolve that first.") % {"what": model._meta.verbose_name},
            code="merge_conflict",
            extra={"relation": relation_label(model, field)},
        )


def _drop_duplicate_links(through: type[models.Model], field: str, *, keep, merge) -> None:
    """An M2M through table: a link the kept client already has would be a duplicate."""
    other = next(f.name for f in through._meta.fields if isinstance(f, models.ForeignKey) and f.name != field)
    already = through._base_manager.filter(**{field: keep}).values(other)
    through._base_manager.filter(**{field: merge, f"{other}__in": already}).delete()


def reassign_customer_rows(model: type[models.Model], field: str, *, keep: Customer, merge: Customer) -> int:
    """Point every row of `model` whose `field` is `merge` at `keep`; returns the row count.
    For an app's own models, from its merge handler (inside customer_merge's transaction).
    A one-to-one (or unique) field held by both clients, or a unique constraint both clients'
    rows would break, raises Conflict(code="merge_conflict", extra={"relation": label}); an
    auto-created M2M through table drops the links `keep` already has."""
    fk = model._meta.get_field(field)
    if fk.one_to_one or fk.unique:
        _refuse_one_per_client_clash(model, field, keep=keep, merge=merge)
    elif model._meta.auto_created:
        _drop_duplicate_links(model, field, keep=keep, merge=merge)
    try:
        with transaction.atomic():
            return model._base_manager.filter(**{field: merge}).update(**{field: keep})
    except IntegrityError as exc:  # a unique (customer, x) both clients hold
        raise Conflict(
            _("Both clients have conflicting %(what)s records; resolve that first.")
            % {"what": model._meta.verbose_name_plural},
            code="merge_conflict",
            extra={"relation": relation_label(model, field)},
        ) from exc


def customer_relations() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every ForeignKey/OneToOne pointing at Customer, in every installed
    app, including the auto-created through tables of other models' M2Ms to Customer."""
    relations = []
    for rel in Customer._meta.related_objects:
        if rel.many_to_many:
            through = rel.through
            fk = next(
                f
                for f in through._meta.fields
                if isinstance(f, models.ForeignKey) and f.related_model is Customer
            )
            relations.append((through, fk.name))
        else:
            relations.append((rel.related_model, rel.field.name))
    return relations


# ---- customers' own handler ------------------------------------------------------------------


def _own_relations() -> list[tuple[type[models.Model], str]]:
    """customers' tables that point at Customer: consents, formulas, patch tests, safety
    overrides, access logs, merge records, referrals (and any customers table added later)."""
    return [(model, field) for model, field in customer_relations() if model._meta.app_label == "customers"]


def _tags_to_add(keep: Customer, merge: Customer) -> models.QuerySet:
    return merge.tags.exclude(pk__in=keep.tags.all())


def _customers_preview(*, keep: Customer, merge: Customer) -> MergeCounts:
    counts = {
        relation_label(model, field): customer_rows_count(model, field, customer=merge)
        for model, field in _own_relations()
    }
    counts[relation_label(Customer, "tags")] = _tags_to_add(keep, merge).count()
    return counts


def _customers_merge(*, keep: Customer, merge: Customer, by) -> MergeCounts:
    counts = {
        relation_label(model, field): reassign_customer_rows(model, field, keep=keep, merge=merge)
        for model, field in _own_relations()
    }
    added = list(_tags_to_add(keep, merge))  # tags: the union
    if added:
        keep.tags.add(*added)
    counts[relation_label(Customer, "tags")] = len(added)
    return counts


CUSTOMERS_MERGE_HANDLER = MergeHandler("customers", preview=_customers_preview, merge=_customers_merge)


# ---- the merge -------------------------------------------------------------------------------


def _nonzero(counts: Counter) -> MergeCounts:
    return {label: n for label, n in sorted(counts.items()) if n}


def merge_preview(*, keep: Customer, merge: Customer) -> MergeCounts:
    """What customer_merge would move: every handler's preview added up, non-zero only."""
    counts: Counter = Counter()
    for handler in merge_handlers().values():
        counts.update(handler.preview(keep=keep, merge=merge))
    return _nonzero(counts)


def _lock_pair(keep: Customer, merge: Customer) -> tuple[Customer, Customer]:
    """Both clients locked, in pk order (two managers merging crosswise cannot deadlock), as
    fresh rows rather than whatever the caller loaded earlier."""
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk]).order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError({"merge": [_("One of the clients no longer exists.")]})
    keep, merge = locked[keep.pk], locked[merge.pk]
    if keep.erased_at or merge.erased_at:
        raise ValidationError({"merge": [_("An erased client cannot be merged.")]})
    return keep, merge


def _run_handlers(keep: Customer, merge: Customer, by) -> Counter:
    moved: Counter = Counter()
    for handler in merge_handlers().values():
        moved.update(handler.merge(keep=keep, merge=merge, by=by))
    return moved


def _refuse_unhandled_rows(merge: Customer) -> None:
    """The safety net: a row no handler moved would be cascaded away (or block the delete)."""
    for model, field in customer_relations():
        if model._base_manager.filter(**{field: merge}).exists():
            label = relation_label(model, field)
            raise Conflict(
                _("No app merges the client's %(what)s (%(relation)s); nothing was changed.")
                % {"what": model._meta.verbose_name_plural, "relation": label},
                code="merge_unhandled",
                extra={"relation": label},
            )


def _absorb_fields(keep: Customer, merge: Customer) -> list[str]:
    changed = []
    for field in FILL_FIELDS:
        value = getattr(merge, field)
        if field == "referred_by" and value is not None and value.pk == keep.pk:
            continue
        if value not in (None, "") and getattr(keep, field) in (None, ""):
            setattr(keep, field, value)
            changed.append(field)
    for field in CONCAT_FIELDS:
        mine, theirs = (getattr(keep, field) or "").strip(), (getattr(merge, field) or "").strip()
        if theirs and theirs not in mine:
            setattr(keep, field, f"{mine}\n{theirs}" if mine else theirs)
            changed.append(field)
    if merge.do_not_contact and not keep.do_not_contact:  # a refusal on either file stands
        keep.do_not_contact = True
        changed.append("do_not_contact")
    if merge.created_at < keep.created_at:  # "client since" is the earlier date
        keep.created_at = merge.created_at
        changed.append("created_at")
    if keep.referred_by_id == merge.pk:
        keep.referred_by = None
        changed.append("referred_by")
    return changed


def _save_absorbed(keep: Customer, merge: Customer, changed: list[str]) -> None:
    taken = [f for f in UNIQUE_FIELDS if f in changed]
    if taken:  # free the unique values before the kept client takes them
        Customer.objects.filter(pk=merge.pk).update(**{f: None for f in taken})
    if "phone" in changed:
        changed += derive_search_fields(keep)
    if changed:
        keep.updated_at = timezone.now()
        keep.save(update_fields=[*dict.fromkeys(changed), "updated_at"])


@transaction.atomic
def customer_merge(*, keep: Customer, merge: Customer, by) -> MergeRecord:
    """Absorb `merge` into `keep`: every registered merge handler moves its app's rows of
    `merge` to `keep` (customers' own: consents, formulas, patch tests, overrides, access log,
    referrals, tags as a union); empty fields of `keep` are filled from `merge`, health texts and
    notes are concatenated, then `merge` is deleted. Both rows are locked for the whole
    transaction; MergeRecord.moved = {"app.Model.field": rows moved}. All or nothing: a handler
    that refuses (Conflict, ValidationError), or a row no handler moved (Conflict
    "merge_unhandled"), rolls everything back. Emits MERGED after commit."""
    if by is not None and not by.has_perm("customers.merge_customer"):
        raise PermissionDenied(_("You may not merge clients."))
    if keep.pk == merge.pk:
        raise ValidationError({"merge": [_("Choose two different clients.")]})
    keep, merge = _lock_pair(keep, merge)
    moved = _run_handlers(keep, merge, by)
    _refuse_unhandled_rows(merge)
    _save_absorbed(keep, merge, _absorb_fields(keep, merge))
    record = MergeRecord.objects.create(
        kept=keep, merged_name=merge.name, merged_pk=merge.pk, moved=_nonzero(moved), merged_by=by
    )
    merged_pk = merge.pk
    merge.delete()
    events.customer_event(events.MERGED, customer_id=keep.pk, merged_id=merged_pk, by=by)
    return record
