"""Client services: phone normalisation and duplicates, health write rule, consent, formulas
(lock + versions), patch tests and safety warnings."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers import privacy
from customers.models import ColourFormula, ConsentRecord, Customer, PatchTest, SafetyOverride
from customers.safety import customer_safety_warnings
from customers.services import (
    consent_set,
    customer_create,
    customer_quick_add,
    customer_update,
    duplicate_phone_owner,
    formula_correct,
    formula_create,
    patch_test_record,
    phone_normalise,
    safety_override_record,
)
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("+44 7911 123456", "+447911123456"),
        ("", ""),
    ],
)
def test_phone_normalised_to_e164(raw, e164):
    assert phone_normalise(raw) == e164


def test_invalid_phone_is_a_field_error(manager):
    with pytest.raises(ValidationError) as exc:
        customer_create(user=manager.user, name="X", phone="12345")
    assert list(exc.value.message_dict) == ["phone"]
    assert Customer.objects.count() == 0


def test_create_derives_search_fields_and_tags(manager):
    customer = customer_create(user=manager.user, name="张三", phone="13800138000", tags=["VIP", "新客"])
    customer.refresh_from_db()
    assert str(customer.phone) == "+8613800138000"
    assert (customer.name_pinyin, customer.name_initials, customer.phone_rev) == (
        "zhangsan",
        "zs",
        "00083100831",
    )
    assert sorted(t.name for t in customer.tags.all()) == ["VIP", "新客"]


def test_duplicate_phone_refused_naming_the_existing_client(manager):
    first = customer_create(user=manager.user, name="张三", phone="+8613800138000")
    with pytest.raises(ValidationError) as exc:
        customer_create(user=manager.user, name="李四", phone="138 0013 8000")
    assert exc.value.message_dict == {
        "phone": [f"This phone number is already on file for 张三 (client #{first.pk})."]
    }
    assert duplicate_phone_owner(exc.value) == first.pk
    assert Customer.objects.count() == 1


def test_update_to_a_used_phone_refused_and_nothing_changed(manager):
    a = CustomerFactory(phone="+8613800138000")
    b = CustomerFactory(name="Emily Clark", phone="+8613900000001")
    with pytest.raises(ValidationError):
        customer_update(user=manager.user, customer=b, data={"phone": "13800138000", "name": "Emily C"})
    b.refresh_from_db()
    assert (b.name, str(b.phone)) == ("Emily Clark", "+8613900000001")
    assert duplicate_phone_owner(ValidationError({"phone": ["x"]})) is None
    assert a.pk


def test_update_name_rederives_pinyin(manager):
    customer = CustomerFactory(name="张三")
    customer_update(user=manager.user, customer=customer, data={"name": "李四"})
    customer.refresh_from_db()
    assert (customer.name_pinyin, customer.name_initials) == ("lisi", "ls")


def test_quick_add_needs_phone_and_marks_walk_in(reception):
    with pytest.raises(ValidationError) as exc:
        customer_quick_add(user=reception.user, name="Walk In", phone="")
    assert list(exc.value.message_dict) == ["phone"]
    customer = customer_quick_add(user=reception.user, name="Walk In", phone="13912345678")
    assert (customer.source, str(customer.phone)) == ("walk_in", "+8613912345678")


# ---- health write rule ------------------------------------------------------------------------


def test_receptionist_cannot_write_health(reception):
    customer = CustomerFactory(allergies="latex")
    with pytest.raises(PermissionDenied):
        customer_update(user=reception.user, customer=customer, data={"allergies": "none", "notes": "x"})
    customer.refresh_from_db()
    assert (customer.allergies, customer.notes) == ("latex", "")
    # non-health fields are fine
    customer_update(user=reception.user, customer=customer, data={"notes": "likes tea"})
    customer.refresh_from_db()
    assert customer.notes == "likes tea"


def test_stylist_writes_health_only_for_their_clients(stylist, other_stylist):
    mine = CustomerFactory(preferred_staff=stylist)
    theirs = CustomerFactory(preferred_staff=other_stylist)
    customer_update(user=stylist.user, customer=mine, data={"allergies": "PPD"})
    with pytest.raises(PermissionDenied):
        customer_update(user=stylist.user, customer=theirs, data={"allergies": "PPD"})
    theirs.refresh_from_db()
    assert theirs.allergies == ""
    with pytest.raises(PermissionDenied):
        formula_create(
            customer=theirs, stylist=stylist, user=stylist.user, brand="Wella", shades=[("7/1", 30)]
        )
    assert ColourFormula.objects.count() == 0


def test_stylist_who_wrote_a_formula_may_write_health(stylist):
    customer = CustomerFactory()
    FormulaFactory(customer=customer, stylist=stylist)
    customer_update(user=stylist.user, customer=customer, data={"contraindications": "pregnant"})
    customer.refresh_from_db()
    assert customer.contraindications == "pregnant"


def test_registered_stylist_client_check(stylist, monkeypatch):
    customer = CustomerFactory()
    assert not privacy.can_write_health(stylist.user, customer)
    monkeypatch.setattr(privacy, "_STYLIST_CLIENT_CHECKS", [])
    privacy.register_stylist_client_check(lambda staff, c: c.pk == customer.pk and staff.pk == stylist.pk)
    assert privacy.can_write_health(stylist.user, customer)


# ---- consent ----------------------------------------------------------------------------------


def test_consent_history_and_flags(reception):
    customer = CustomerFactory()
    consent_set(customer=customer, channel="sms", granted=True, method="front desk", user=reception.user)
    consent_set(customer=customer, channel="wechat", granted=True, method="front desk", user=reception.user)
    consent_set(customer=customer, channel="all", granted=False, method="phone call", user=reception.user)
    customer.refresh_from_db()
    assert (customer.consent_sms, customer.consent_wechat, customer.do_not_contact) == (False, False, True)
    assert list(ConsentRecord.objects.order_by("pk").values_list("channel", "granted", "recorded_by")) == [
        ("sms", True, reception.user.pk),
        ("wechat", True, reception.user.pk),
        ("all", False, reception.user.pk),
    ]
    consent_set(customer=customer, channel="email", granted=True, method="form")
    customer.refresh_from_db()
    assert (customer.consent_email, customer.do_not_contact) == (True, False)


def test_consent_needs_method(reception):
    customer = CustomerFactory()
    with pytest.raises(ValidationError) as exc:
        consent_set(customer=customer, channel="sms", granted=True, method=" ")
    assert list(exc.value.message_dict) == ["method"]
    assert ConsentRecord.objects.count() == 0


# ---- formulas ---------------------------------------------------------------------------------


def test_formula_with_shades(stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    formula = formula_create(
        customer=customer,
        stylist=stylist,
        user=stylist.user,
        brand="Wella",
        line="Koleston",
        shades=[("7/1", "30"), {"shade": "8/0", "grams": 15.5}],
        developer="6%",
        processing_minutes=35,
    )
    assert [(s.shade, s.grams) for s in formula.shades.order_by("pk")] == [
        ("7/1", Decimal("30.0")),
        ("8/0", Decimal("15.5")),
    ]
    assert (formula.version, formula.created_by) == (1, stylist.user)


def test_formula_needs_a_shade(stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    with pytest.raises(ValidationError) as exc:
        formula_create(customer=customer, stylist=stylist, user=stylist.user, brand="Wella", shades=[])
    assert list(exc.value.message_dict) == ["shades"]


def test_formula_corrected_in_place_within_24_hours(stylist):
    formula = FormulaFactory(stylist=stylist, customer=CustomerFactory(preferred_staff=stylist))
    saved = formula_correct(formula=formula, user=stylist.user, brand="Goldwell", shades=[("6N", 40)])
    assert saved.pk == formula.pk and saved.version == 1
    assert ColourFormula.objects.count() == 1
    assert [(s.shade, s.grams) for s in saved.shades.all()] == [("6N", Decimal("40.0"))]


def test_locked_formula_correction_is_a_new_version(stylist):
    created = timezone.now() - timedelta(hours=25)
    old = FormulaFactory(
        stylist=stylist, customer=CustomerFactory(preferred_staff=stylist), created_at=created, brand="Wella"
    )
    new = formula_correct(formula=old, user=stylist.user, processing_minutes=40)
    old.refresh_from_db()
    assert (new.version, new.supersedes_id, new.brand, new.processing_minutes) == (2, old.pk, "Wella", 40)
    assert (old.version, old.processing_minutes) == (1, 35)  # kept unchanged
    assert [s.shade for s in new.shades.all()] == ["7/1"]
    assert [s.shade for s in old.shades.all()] == ["7/1"]
    with pytest.raises(ValidationError):
        formula_correct(formula=old, user=stylist.user, processing_minutes=50)
    assert ColourFormula.objects.count() == 2


def test_formula_lock_boundary(stylist):
    formula = FormulaFactory(stylist=stylist)
    assert not formula.is_locked(formula.created_at + timedelta(hours=23, minutes=59))
    assert formula.is_locked(formula.created_at + timedelta(hours=24))


# ---- patch tests and safety -------------------------------------------------------------------


class _Service:
    def __init__(self, name, requires_patch_test=True):
        self.name, self.requires_patch_test = name, requires_patch_test


def test_patch_test_defaults_to_six_months(stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    test = patch_test_record(
        customer=customer, user=stylist.user, product="Koleston", tested_on=date(2026, 1, 10)
    )
    assert (test.valid_until, test.result) == (date(2026, 7, 9), PatchTest.Result.PENDING)


def test_patch_test_in_the_future_refused(stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    with pytest.raises(ValidationError):
        patch_test_record(
            customer=customer,
            user=stylist.user,
            product="X",
            tested_on=timezone.localdate() + timedelta(days=1),
        )
    assert PatchTest.objects.count() == 0


def test_safety_warnings():
    colour = _Service("Full colour")
    customer = CustomerFactory(allergies="PPD")
    assert [w.code for w in customer_safety_warnings(customer, [colour])] == ["allergy", "patch_test_missing"]
    PatchTestFactory(customer=customer, result="failed")
    assert [w.code for w in customer_safety_warnings(customer, [colour])][1] == "patch_test_failed"
    other = CustomerFactory()
    PatchTestFactory(customer=other, tested_on=date(2025, 1, 1), valid_until=date(2025, 7, 1))
    assert [w.code for w in customer_safety_warnings(other, [colour])] == ["patch_test_expired"]
    assert customer_safety_warnings(other, [_Service("Cut", requires_patch_test=False)]) == []


def test_override_needs_a_reason(reception, stylist):
    customer = CustomerFactory(allergies="PPD")
    warnings = customer_safety_warnings(customer, [])
    with pytest.raises(ValidationError):
        safety_override_record(
            customer=customer, warnings=warnings, reason=" ", user=reception.user, context="booking"
        )
    # without customers.override_safety (every role holds it now: stylists confirm at the chair)
    stylist.user.groups.clear()
    stylist.user = type(stylist.user).objects.get(pk=stylist.user.pk)  # a fresh permission cache
    with pytest.raises(ValidationError):
        safety_override_record(
            customer=customer, warnings=warnings, reason="ok", user=stylist.user, context="booking"
        )
    assert SafetyOverride.objects.count() == 0
    override = safety_override_record(
        customer=customer, warnings=warnings, reason="PPD-free dye", user=reception.user, context="booking"
    )
    assert (override.reason, override.warnings[0]["code"]) == ("PPD-free dye", "allergy")


def test_duplicate_external_id_is_a_field_error(manager):
    customer_create(user=manager.user, name="A", external_id="X-1")
    with pytest.raises(ValidationError) as exc:
        customer_create(user=manager.user, name="B", external_id="X-1")
    assert list(exc.value.message_dict) == ["external_id"]
    assert Customer.objects.count() == 1
