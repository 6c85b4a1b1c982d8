"""Merging duplicate clients. Generic on purpose: every row of every app that points at a
Customer (appointments, visits, and whatever loyalty, feedback or messaging add later) moves to
the kept client without this module knowing those apps - it walks Customer._meta."""

from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, MergeRecord
from customers.search import derive_search_fields
from customers.services.profiles import PROFILE_FIELDS
from salon_crm.errors import Conflict

# Health and notes: both texts are kept (an allergy on either file must survive the merge).
_CONCAT_FIELDS = ("allergies", "contraindications", "medical_notes", "notes")
# Every other profile field is filled from the merged client only when the kept one has nothing
# there (derived from the services' list, so a new profile field is merged too).
_FILL_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in ("name", "created_at", *_CONCAT_FIELDS))
_UNIQUE_FIELDS = ("phone", "external_id")


def _label(model: type[models.Model], field_name: str) -> str:
    return f"{model._meta.app_label}.{model.__name__}.{field_name}"


def _customer_relations() -> list[tuple[type[models.Model], str]]:
    """(model, field name) of every ForeignKey/OneToOne pointing at Customer, including those
    of apps installed later and the auto-created through tables of other models' M2Ms."""
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


def merge_preview(*, keep: Customer, merge: Customer) -> dict[str, int]:
    """What customer_merge would move: {"app.Model.field": rows} for the merged client's rows
    (non-zero only), plus the tags the kept client would gain."""
    counts: dict[str, int] = {}
    for model, field in _customer_relations():
        n = model._base_manager.filter(**{field: merge}).count()
        if n:
            counts[_label(model, field)] = n
    for m2m in Customer._meta.many_to_many:
        n = getattr(merge, m2m.name).exclude(pk__in=getattr(keep, m2m.name).all()).count()
        if n:
            counts[_label(Customer, m2m.name)] = n
    return counts


def _move_rows(keep: Customer, merge: Customer) -> Counter:
    moved: Counter = Counter()
    for model, field in _customer_relations():
        rows = model._base_manager.filter(**{field: merge})
        fk = model._meta.get_field(field)
        if fk.one_to_one or fk.unique:
            if rows.exists() and model._base_manager.filter(**{field: keep}).exists():
                # Two loyalty accounts, say: only their own app knows how to add them up.
                raise Conflict(
                    _("Both clients have a %(what)s; resolve that first.")
                    % {"what": model._meta.verbose_name},
                    code="merge_conflict",
                    extra={"relation": _label(model, field)},
                )
        elif model._meta.auto_created:
            # An M2M through table: a link the kept client already has would be a duplicate.
            other = next(
                f.name for f in model._meta.fields if isinstance(f, models.ForeignKey) and f.name != field
            )
            already = model._base_manager.filter(**{field: keep}).values(other)
            rows.filter(**{f"{other}__in": already}).delete()
        try:
            with transaction.atomic():
                n = rows.update(**{field: keep})
        except IntegrityError as exc:  # a unique (customer, x) both clients hold
            raise Conflict(
                _("Both clients have conflicting %(what)s records; resolve that first.")
                % {"what": model._meta.verbose_name_plural},
                code="merge_conflict",
                extra={"relation": _label(model, field)},
            ) from exc
        if n:
            moved[_label(model, field)] += n
    for m2m in Customer._meta.many_to_many:  # tags: the union
        added = list(getattr(merge, m2m.name).exclude(pk__in=getattr(keep, m2m.name).all()))
        if added:
            getattr(keep, m2m.name).add(*added)
            moved[_label(Customer, m2m.name)] = len(added)
    return moved


def _absorb_fields(keep: Customer, merge: Customer) -> list[str]:
    changed = []
    for field in _FILL_FIELDS:
        value = getattr(merge, field)
        if field == "referred_by" and value is not None and value.pk == keep.pk:
            continue
        if value not in (None, "") and getattr(keep, field) in (None, ""):
            setattr(keep, field, value)
            changed.append(field)
    for field in _CONCAT_FIELDS:
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


@transaction.atomic
def customer_merge(*, keep: Customer, merge: Customer, by) -> MergeRecord:
    """Absorb `merge` into `keep`: every row of every app that points at `merge` moves to
    `keep`, tags are united, empty fields of `keep` are filled from `merge`, health texts and
    notes are concatenated, then `merge` is deleted. Both rows are locked for the whole
    transaction; MergeRecord.moved = {"app.Model.field": rows moved}. All or nothing: a
    conflict (both clients own a one-per-client record) raises Conflict and nothing changes."""
    if by is not None and not by.has_perm("customers.merge_customer"):
        raise PermissionDenied(_("You may not merge clients."))
    if keep.pk == merge.pk:
        raise ValidationError({"merge": [_("Choose two different clients.")]})
    # Lock in pk order (two managers merging crosswise cannot deadlock), then work on the
    # locked, fresh rows rather than whatever the caller loaded earlier.
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk]).order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError({"merge": [_("One of the clients no longer exists.")]})
    keep, merge = locked[keep.pk], locked[merge.pk]
    if keep.erased_at or merge.erased_at:
        raise ValidationError({"merge": [_("An erased client cannot be merged.")]})

    moved = _move_rows(keep, merge)
    changed = _absorb_fields(keep, merge)
    taken = [f for f in _UNIQUE_FIELDS if f in changed]
    if taken:  # free the unique values before the kept client takes them
        Customer.objects.filter(pk=merge.pk).update(**{f: None for f in taken})
    if "phone" in changed:
        changed += derive_search_fields(keep)
    if changed:
        keep.updated_at = timezone.now()
        keep.save(update_fields=[*dict.fromkeys(changed), "updated_at"])
    record = MergeRecord.objects.create(
        kept=keep, merged_name=merge.name, merged_pk=merge.pk, moved=dict(sorted(moved.items())), merged_by=by
    )
    merge.delete()
    return record
