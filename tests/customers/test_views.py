"""Client pages: create/edit (with duplicate-phone link), quick-add (page and htmx dialog),
formulas (formset, lock), patch tests, consent; role rules on the forms."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ColourFormula, ConsentRecord, Customer, PatchTest
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory

pytestmark = pytest.mark.django_db


def _shades(*rows):
    data = {
        "shades-TOTAL_FORMS": "3",
        "shades-INITIAL_FORMS": "0",
        "shades-MIN_NUM_FORMS": "0",
        "shades-MAX_NUM_FORMS": "8",
    }
    for i, (shade, grams) in enumerate(rows):
        data[f"shades-{i}-shade"] = shade
        data[f"shades-{i}-grams"] = grams
    return data


def test_create_page_creates_and_redirects_to_card(client_as, reception):
    client = client_as(reception)
    assert 'name="allergies"' not in client.get(reverse("customers:create")).content.decode()
    response = client.post(reverse("customers:create"), {"name": "张三", "phone": "138 0013 8000"})
    customer = Customer.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "customers:detail", args=[customer.pk]
    )
    assert str(customer.phone) == "+8613800138000"


def test_manager_create_form_has_health_fields(client_as, manager):
    html = client_as(manager).get(reverse("customers:create")).content.decode()
    assert 'name="allergies"' in html and 'name="medical_notes"' in html


def test_duplicate_phone_shows_error_and_link(client_as, reception):
    existing = CustomerFactory(name="张三", phone="+8613800138000")
    response = client_as(reception).post(
        reverse("customers:create"), {"name": "李四", "phone": "13800138000"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f"already on file for 张三 (client #{existing.pk})" in html
    assert f'href="{reverse("customers:detail", args=[existing.pk])}"' in html
    assert Customer.objects.count() == 1


def test_edit_page_keeps_health_for_receptionist(client_as, reception):
    customer = CustomerFactory(name="张三", allergies="PPD")
    client = client_as(reception)
    url = reverse("customers:edit", args=[customer.pk])
    assert 'name="allergies"' not in client.get(url).content.decode()
    response = client.post(url, {"name": "张三丰", "phone": "13900000009", "notes": "tea"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.notes, customer.allergies, str(customer.phone)) == (
        "张三丰",
        "tea",
        "PPD",
        "+8613900000009",
    )


def test_stylist_cannot_open_create_or_edit(client_as, stylist):
    customer = CustomerFactory()
    client = client_as(stylist)
    assert client.get(reverse("customers:create")).status_code == 403
    assert client.post(reverse("customers:edit", args=[customer.pk]), {"name": "x"}).status_code == 403
    customer.refresh_from_db()
    assert customer.name != "x"


def test_quick_add_htmx_dialog_redirects_to_card(client_as, reception):
    client = client_as(reception)
    response = client.get(reverse("customers:quick_add"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith("<dialog") and "<html" not in html
    response = client.post(
        reverse("customers:quick_add"),
        {"name": "Walk In", "phone": "139 1234 5678"},
        headers={"HX-Request": "true"},
    )
    customer = Customer.objects.get()
    assert (response.status_code, response["HX-Redirect"]) == (
        204,
        reverse("customers:detail", args=[customer.pk]),
    )
    assert customer.source == "walk_in"


def test_quick_add_errors_stay_in_dialog(client_as, reception):
    response = client_as(reception).post(
        reverse("customers:quick_add"), {"name": "Walk In", "phone": "12"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<dialog" in html and "Enter a valid phone number." in html
    assert Customer.objects.count() == 0


def test_header_has_walk_in_button_for_reception_only(client_as, reception, stylist):
    assert 'id="quick-add-button"' in client_as(reception).get(reverse("accounts:home")).content.decode()
    assert 'id="quick-add-button"' not in client_as(stylist).get(reverse("accounts:home")).content.decode()


def test_stylist_records_formula_with_shade_formset(client_as, stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    data = {
        "stylist": stylist.pk,
        "brand": "Wella",
        "line": "Koleston",
        **_shades(("7/1", "30"), ("8/0", "15.5")),
    }
    response = client_as(stylist).post(reverse("customers:formula_create", args=[customer.pk]), data)
    assert response.status_code == 302
    formula = ColourFormula.objects.get()
    assert [(s.shade, str(s.grams)) for s in formula.shades.order_by("pk")] == [
        ("7/1", "30.0"),
        ("8/0", "15.5"),
    ]


def test_formula_form_without_shades_is_an_error(client_as, stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    data = {"stylist": stylist.pk, "brand": "Wella", **_shades()}
    response = client_as(stylist).post(reverse("customers:formula_create", args=[customer.pk]), data)
    assert response.status_code == 200 and "Add at least one shade." in response.content.decode()
    assert ColourFormula.objects.count() == 0


def test_locked_formula_page_says_new_version_and_saves_one(client_as, stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    formula = FormulaFactory(
        customer=customer, stylist=stylist, created_at=timezone.now() - timedelta(days=2)
    )
    url = reverse("customers:formula_correct", args=[customer.pk, formula.pk])
    client = client_as(stylist)
    assert 'id="formula-locked"' in client.get(url).content.decode()
    data = {"stylist": stylist.pk, "brand": "Wella", "processing_minutes": "40", **_shades(("7/1", "60"))}
    assert client.post(url, data).status_code == 302
    assert list(ColourFormula.objects.order_by("version").values_list("version", "processing_minutes")) == [
        (1, 35),
        (2, 40),
    ]
    card = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "replaced by v2" in card and ">locked<" in card


def test_stylist_cannot_write_formula_for_other_stylists_client(client_as, stylist, other_stylist):
    customer = CustomerFactory(preferred_staff=other_stylist)
    data = {"stylist": stylist.pk, "brand": "Wella", **_shades(("7/1", "30"))}
    response = client_as(stylist).post(reverse("customers:formula_create", args=[customer.pk]), data)
    assert response.status_code == 403
    assert ColourFormula.objects.count() == 0
    card = client_as(stylist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("customers:formula_create", args=[customer.pk]) not in card


def test_patch_test_page(client_as, manager):
    customer = CustomerFactory()
    url = reverse("customers:patch_test_create", args=[customer.pk])
    response = client_as(manager).post(
        url, {"product": "Koleston", "tested_on": "2026-01-10", "result": "failed"}
    )
    assert response.status_code == 302
    test = PatchTest.objects.get()
    assert (test.result, test.performed_by, str(test.valid_until)) == ("failed", manager, "2026-07-09")


def test_consent_page(client_as, reception):
    customer = CustomerFactory()
    url = reverse("customers:consent", args=[customer.pk])
    response = client_as(reception).post(url, {"channel": "all", "granted": "false", "method": "phone call"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.do_not_contact is True
    assert ConsentRecord.objects.get().recorded_by == reception.user
    card = client_as(reception).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "Do not contact" in card and "Consent withdrawn: All channels (do not contact)" in card


def test_manager_buttons_only_for_managers(client_as, manager, reception):
    customer = CustomerFactory()
    url = reverse("customers:detail", args=[customer.pk])
    assert 'id="export-json"' in client_as(manager).get(url).content.decode()
    html = client_as(reception).get(url).content.decode()
    assert 'id="export-json"' not in html and 'id="erase-link"' not in html


def test_stylist_edits_health_of_own_client_only(client_as, stylist, other_stylist):
    mine = CustomerFactory(preferred_staff=stylist)
    theirs = CustomerFactory(preferred_staff=other_stylist)
    client = client_as(stylist)
    assert 'id="edit-health"' in client.get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert (
        'id="edit-health"' not in client.get(reverse("customers:detail", args=[theirs.pk])).content.decode()
    )
    data = {
        "allergies": "PPD",
        "hair_type": "fine",
        "skin_type": "",
        "contraindications": "",
        "medical_notes": "",
    }
    assert client.post(reverse("customers:edit_health", args=[mine.pk]), data).status_code == 302
    assert client.post(reverse("customers:edit_health", args=[theirs.pk]), data).status_code == 403
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.allergies, mine.hair_type, theirs.allergies) == ("PPD", "fine", "")


def test_receptionist_cannot_open_health_edit(client_as, reception):
    customer = CustomerFactory(allergies="PPD")
    response = client_as(reception).post(
        reverse("customers:edit_health", args=[customer.pk]), {"allergies": ""}
    )
    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.allergies == "PPD"


def test_edit_keeps_a_foreign_phone(client_as, manager):
    customer = CustomerFactory(name="Emily Clark", phone="+447911123456")
    client = client_as(manager)
    url = reverse("customers:edit", args=[customer.pk])
    html = client.get(url).content.decode()
    assert 'value="+44 7911 123456"' in html
    assert client.post(url, {"name": "Emily Clark", "phone": "+44 7911 123456"}).status_code == 302
    customer.refresh_from_db()
    assert str(customer.phone) == "+447911123456"


def test_pending_patch_test_result_from_the_card(client_as, stylist, reception):
    customer = CustomerFactory(preferred_staff=stylist)
    test = PatchTestFactory(customer=customer, result="pending")
    url = reverse("customers:patch_test_result", args=[customer.pk, test.pk])
    assert (
        f'data-patch-test="{test.pk}"'
        in client_as(stylist).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    )
    assert client_as(reception).post(url, {"result": "failed"}).status_code == 403
    test.refresh_from_db()
    assert test.result == "pending"
    assert client_as(stylist).post(url, {"result": "failed"}).status_code == 302
    test.refresh_from_db()
    assert test.result == "failed"


def test_similar_name_and_same_birthday_warns_once_then_creates_on_confirm(client_as, reception):
    existing = CustomerFactory(name="张三", birthday="1990-05-01", phone="+8613800138000")
    client = client_as(reception)
    data = {"name": "章三", "phone": "139 0000 1111", "birthday": "1990-05-01"}  # same name read aloud
    # when: first save
    warned = client.post(reverse("customers:create"), data)
    # then: a warning naming the existing client, nothing saved
    html = warned.content.decode()
    assert warned.status_code == 200 and 'id="similar-warning"' in html
    assert reverse("customers:detail", args=[existing.pk]) in html
    assert Customer.objects.count() == 1
    # when: saved again with the confirmation
    created = client.post(reverse("customers:create"), {**data, "confirm_similar": "1"})
    assert created.status_code == 302
    assert Customer.objects.count() == 2


def test_same_name_different_birthday_does_not_warn(client_as, reception):
    CustomerFactory(name="张三", birthday="1990-05-01")
    response = client_as(reception).post(
        reverse("customers:create"), {"name": "张三", "phone": "139 0000 1111", "birthday": "1991-05-01"}
    )
    assert response.status_code == 302
