"""Colour formulas (配方) and patch tests."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import role_of, staff_of, staff_visible_to
from accounts.models import Role, StaffMember
from customers.models import ColourFormula, Customer, FormulaShade, PatchTest
from customers.privacy import can_write_health

PATCH_TEST_VALID_DAYS = 180  # a passed patch test is trusted for six months unless told otherwise
FORMULA_FIELDS = (
    "brand",
    "line",
    "developer",
    "mix_ratio",
    "zones",
    "processing_minutes",
    "result_notes",
)


@dataclass(frozen=True)
class ShadeInput:
    shade: str
    grams: Decimal


def _require_health_write(user, customer: Customer) -> None:
    if user is not None and not can_write_health(user, customer):
        raise PermissionDenied(_("You may not write formulas or patch tests for this client."))


def _require_stylist(user, stylist: StaffMember | None) -> None:
    """Whose name a formula is written in. A stylist records formulas as themselves only: a
    formula in a colleague's name would make that client "theirs" (customers.privacy) and so
    hand out health-write rights nobody granted. Managers and owners may name a stylist who works
    at one of their locations (writing up a colleague's service). ValidationError on `stylist`."""
    if user is None:  # the system (demo data, imports)
        return
    if stylist is None:
        raise ValidationError({"stylist": [_("Give the stylist.")]})
    if role_of(user) == Role.STYLIST:
        me = staff_of(user)
        if me is None or me.pk != stylist.pk:
            raise ValidationError({"stylist": [_("You can only record formulas as yourself.")]})
        return
    if not stylist.is_active or not staff_visible_to(user).filter(pk=stylist.pk).exists():
        raise ValidationError({"stylist": [_("Choose a stylist who works at one of your locations.")]})


def _clean_shades(shades) -> list[ShadeInput]:
    """Accepts ShadeInput, dicts {"shade", "grams"} or (shade, grams) pairs; at least one."""
    cleaned: list[ShadeInput] = []
    for item in shades or []:
        if isinstance(item, ShadeInput):
            shade, grams = item.shade, item.grams
        elif isinstance(item, dict):
            shade, grams = item.get("shade"), item.get("grams")
        else:
            shade, grams = item
        shade = str(shade or "").strip()
        try:
            grams = Decimal(str(grams))
        except (InvalidOperation, ValueError):
            raise ValidationError({"shades": [_("Grams must be a number.")]}) from None
        if not shade:
            raise ValidationError({"shades": [_("Every shade needs a name, e.g. 7.1.")]})
        if not (Decimal("0") < grams < Decimal("10000")):
            raise ValidationError({"shades": [_("Grams must be between 0 and 10000.")]})
        cleaned.append(ShadeInput(shade[:30], grams.quantize(Decimal("0.1"))))
    if not cleaned:
        raise ValidationError({"shades": [_("Add at least one shade.")]})
    return cleaned


def _save_shades(formula: ColourFormula, shades: list[ShadeInput]) -> None:
    FormulaShade.objects.bulk_create(
        [FormulaShade(formula=formula, shade=s.shade, grams=s.grams) for s in shades]
    )


@transaction.atomic
def formula_create(
    *, customer: Customer, stylist: StaffMember, user, brand: str, shades, **fields: Any
) -> ColourFormula:
    """A new formula (version 1). `fields` are any of FORMULA_FIELDS but brand. A stylist
    writes in their own name only (_require_stylist)."""
    _require_health_write(user, customer)
    _require_stylist(user, stylist)
    unknown = set(fields) - set(FORMULA_FIELDS)
    if unknown:
        raise TypeError(f"Unknown formula fields: {sorted(unknown)}")
    cleaned = _clean_shades(shades)
    formula = ColourFormula(
        customer=customer,
        stylist=stylist,
        brand=(brand or "").strip(),
        created_by=user,
        created_at=timezone.now(),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    formula.full_clean()
    formula.save()
    _save_shades(formula, cleaned)
    return formula


def _lineage_key(brand: str, shade: str) -> tuple[str, str]:
    return (" ".join((brand or "").split()).casefold(), " ".join((shade or "").split()).casefold())


@transaction.atomic
def formula_create_or_version(
    *, customer: Customer, stylist: StaffMember, user, brand: str, shades, **fields: Any
) -> ColourFormula:
    """A formula written at the chair (the service record). When the client already has a
    formula of the same brand with the same first shade (the base colour; case and spacing
    ignored), this one is the next version of that formula's newest version, not a second
    "v1": formula_correct's rule, so within 24 hours of that version it is corrected in place
    (the same visit's record saved twice), after that it becomes version + 1 pointing at it.
    Fields left empty (developer, minutes...) carry over from the version before; the result
    notes are this visit's. Otherwise a new formula (formula_create). A different base shade is
    a different formula: a toner added or grams changed keep the lineage, 7/1 → 6/0 does not."""
    _require_health_write(user, customer)
    _require_stylist(user, stylist)
    cleaned = _clean_shades(shades)
    wanted = _lineage_key(brand, cleaned[0].shade)
    first_shade = FormulaShade.objects.filter(formula=OuterRef("pk")).order_by("pk").values("shade")[:1]
    candidates = (
        ColourFormula.objects.filter(
            customer=customer, brand__iexact=(brand or "").strip(), superseded_by__isnull=True
        )
        .annotate(first_shade=Subquery(first_shade))
        .order_by("-created_at", "-pk")
    )
    current = next((f for f in candidates if _lineage_key(f.brand, f.first_shade) == wanted), None)
    if current is None:
        return formula_create(
            customer=customer, stylist=stylist, user=user, brand=brand, shades=cleaned, **fields
        )
    unknown = set(fields) - set(FORMULA_FIELDS)
    if unknown:
        raise TypeError(f"Unknown formula fields: {sorted(unknown)}")
    changes = {k: v for k, v in fields.items() if k == "result_notes" or v not in ("", None)}
    # The brand keeps the lineage's spelling ("Wella", not a hurried "wella").
    return formula_correct(formula=current, user=user, shades=cleaned, stylist=stylist, **changes)


@transaction.atomic
def formula_correct(*, formula: ColourFormula, user, shades=None, now=None, **changes: Any) -> ColourFormula:
    """Correct a formula. Within 24 hours of creation it is edited in place; after that it is
    locked and the correction becomes a new version (version + 1, `supersedes` the old one,
    which is kept unchanged). Only the newest version can be corrected. Returns the formula
    that now holds the correction."""
    formula = ColourFormula.objects.select_for_update().select_related("customer").get(pk=formula.pk)
    _require_health_write(user, formula.customer)
    if ColourFormula.objects.filter(supersedes=formula).exists():
        raise ValidationError(_("This formula has a newer version; correct that one instead."))
    unknown = set(changes) - set(FORMULA_FIELDS) - {"stylist"}
    if unknown:
        raise TypeError(f"Unknown formula fields: {sorted(unknown)}")
    if changes.get("stylist") is not None and changes["stylist"] != formula.stylist:
        _require_stylist(user, changes["stylist"])
    cleaned = _clean_shades(shades) if shades is not None else None
    changes = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}

    if not formula.is_locked(now):
        for field, value in changes.items():
            setattr(formula, field, value)
        formula.full_clean()
        formula.save()
        if cleaned is not None:
            formula.shades.all().delete()
            _save_shades(formula, cleaned)
        return formula

    old_shades = [ShadeInput(s.shade, s.grams) for s in formula.shades.all()]
    values = {f: getattr(formula, f) for f in FORMULA_FIELDS}
    values.update({k: v for k, v in changes.items() if k != "stylist"})
    new = ColourFormula(
        customer=formula.customer,
        stylist=changes.get("stylist") or formula.stylist,
        version=formula.version + 1,
        supersedes=formula,
        created_by=user,
        created_at=now or timezone.now(),
        **values,
    )
    new.full_clean()
    new.save()
    _save_shades(new, cleaned if cleaned is not None else old_shades)
    return new


@transaction.atomic
def patch_test_record(
    *,
    customer: Customer,
    user,
    product: str,
    tested_on: date,
    result: str = PatchTest.Result.PENDING,
    valid_until: date | None = None,
    performed_by: StaffMember | None = None,
    notes: str = "",
) -> PatchTest:
    """Record a patch test; valid for PATCH_TEST_VALID_DAYS from the test unless given."""
    _require_health_write(user, customer)
    if tested_on and tested_on > timezone.localdate():
        raise ValidationError({"tested_on": [_("A patch test cannot be in the future.")]})
    test = PatchTest(
        customer=customer,
        product=(product or "").strip(),
        tested_on=tested_on,
        result=result,
        valid_until=valid_until or (tested_on and tested_on + timedelta(days=PATCH_TEST_VALID_DAYS)),
        performed_by=performed_by,
        notes=(notes or "").strip(),
    )
    test.full_clean()
    if test.valid_until < test.tested_on:
        raise ValidationError({"valid_until": [_("Valid until must be on or after the test date.")]})
    test.save()
    return test


@transaction.atomic
def patch_test_set_result(*, patch_test: PatchTest, user, result: str, notes: str | None = None) -> PatchTest:
    """Enter the result of a pending test (read 48 hours later)."""
    _require_health_write(user, patch_test.customer)
    patch_test.result = result
    fields = ["result"]
    if notes is not None:
        patch_test.notes = notes.strip()
        fields.append("notes")
    patch_test.full_clean()
    patch_test.save(update_fields=fields)
    return patch_test
