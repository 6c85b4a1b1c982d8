"""Client API: field names, role rules (masking, health), 400s, formulas, patch tests, consent."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import ColourFormula, ConsentRecord, Customer
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

pytestmark = pytest.mark.django_db
HEALTH = {"allergies", "contraindications", "medical_notes"}


def test_create_with_the_documented_field_names(api_as, manager, stylist):
    payload = {
        "name": "张三",
        "phone": "138 0013 8000",
        "email": "zs@example.com",
        "gender": "male",
        "birthday": "1990-05-01",
        "skin_type": "sensitive",
        "hair_type": "fine",
        "allergies": "PPD",
        "contraindications": "",
        "medical_notes": "asthma",
        "preferences": "quiet",
        "notes": "n",
        "tags": ["VIP", "新标签"],
        "preferred_staff": stylist.pk,
    }
    response = api_as(manager).post(reverse("api-customers"), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "138 0013 8000" and body["phone_masked"] is False
    assert (body["allergies"], body["medical_notes"], body["preferred_staff"]) == (
        "PPD",
        "asthma",
        stylist.pk,
    )
    assert sorted(body["tags"]) == ["VIP", "新标签"]
    customer = Customer.objects.get()
    assert (str(customer.phone), customer.birthday.isoformat(), customer.skin_type) == (
        "+8613800138000",
        "1990-05-01",
        "sensitive",
    )


def test_bad_input_gives_400_with_field_errors(api_as, manager):
    response = api_as(manager).post(
        reverse("api-customers"),
        {"name": "", "email": "nope", "birthday": "31/12/1990", "gender": "x", "preferred_staff": 9999},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"name", "email", "birthday", "gender", "preferred_staff"}
    response = api_as(manager).post(reverse("api-customers"), {"name": "A", "phone": "123"}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["phone"])
    assert Customer.objects.count() == 0


def test_duplicate_phone_is_400_on_phone(api_as, manager):
    existing = CustomerFactory(name="张三", phone="+8613800138000")
    response = api_as(manager).post(
        reverse("api-customers"), {"name": "李四", "phone": "13800138000"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "phone": [f"This phone number is already on file for 张三 (client #{existing.pk})."]
    }


def test_detail_masks_phone_and_hides_nothing_health_for_stylist(api_as, stylist):
    customer = CustomerFactory(phone="+8613800138000", allergies="PPD")
    body = api_as(stylist).get(reverse("api-customer", args=[customer.pk])).json()
    assert (body["phone"], body["phone_masked"]) == ("138****8000", True)
    assert body["allergies"] == "PPD"  # stylists read health (DESIGN.md roles)


def test_list_masks_phones_for_stylists(api_as, stylist):
    CustomerFactory(phone="+8613800138000")
    body = api_as(stylist).get(reverse("api-customers")).json()
    assert [r["phone"] for r in body["results"]] == ["138****8000"]


def test_detail_without_view_health_has_no_health_fields(api_as, reception):
    customer = CustomerFactory(phone="+8613800138000", allergies="PPD")
    group = reception.user.groups.get()
    group.permissions.remove(*group.permissions.filter(codename="view_health"))
    reception.user.refresh_from_db()
    body = api_as(reception).get(reverse("api-customer", args=[customer.pk])).json()
    assert HEALTH.isdisjoint(body)
    assert body["phone"] == "138 0013 8000"


def test_patch_changes_only_given_fields(api_as, manager):
    customer = CustomerFactory(name="张三", notes="old", tags=[TagFactory(name="VIP")])
    response = api_as(manager).patch(
        reverse("api-customer", args=[customer.pk]), {"notes": "new", "tags": ["学生"]}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.notes, [t.name for t in customer.tags.all()]) == ("张三", "new", ["学生"])


def test_receptionist_cannot_patch_health(api_as, reception):
    customer = CustomerFactory(allergies="PPD")
    response = api_as(reception).patch(
        reverse("api-customer", args=[customer.pk]), {"allergies": "", "notes": "x"}, format="json"
    )
    assert response.status_code == 403
    customer.refresh_from_db()
    assert (customer.allergies, customer.notes) == ("PPD", "")


def test_stylist_patches_health_of_own_client_only(api_as, stylist, other_stylist):
    mine = CustomerFactory(preferred_staff=stylist)
    theirs = CustomerFactory(preferred_staff=other_stylist)
    api = api_as(stylist)
    response = api.patch(
        reverse("api-customer", args=[mine.pk]), {"allergies": "PPD", "hair_type": "fine"}, format="json"
    )
    assert (response.status_code, response.json()["allergies"], response.json()["phone"][3:7]) == (
        200,
        "PPD",
        "****",
    )
    for payload in ({"allergies": "x"}, {"hair_type": "curly"}):
        assert api.patch(reverse("api-customer", args=[theirs.pk]), payload, format="json").status_code == 403
    # contact fields are not the stylist's, even for their own client
    assert (
        api.patch(reverse("api-customer", args=[mine.pk]), {"notes": "x"}, format="json").status_code == 403
    )
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.allergies, theirs.hair_type, mine.notes, mine.allergies) == ("", "", "", "PPD")


def test_list_newest_first_paginated_and_search(api_as, reception):
    old = CustomerFactory(name="张三", phone="+8613800138000", created_at=timezone.now() - timedelta(days=3))
    new = CustomerFactory(name="Emily Clark")
    body = api_as(reception).get(reverse("api-customers"), {"limit": 1}).json()
    assert (body["count"], [r["id"] for r in body["results"]]) == (2, [new.pk])
    body = api_as(reception).get(reverse("api-customers"), {"q": "zs"}).json()
    assert [r["id"] for r in body["results"]] == [old.pk]


def test_formulas_create_list_and_search(api_as, stylist, manager):
    customer = CustomerFactory(preferred_staff=stylist, name="张三")
    url = reverse("api-customer-formulas", args=[customer.pk])
    response = api_as(stylist).post(
        url,
        {"brand": "Wella", "line": "Koleston", "shades": [{"shade": "7/1", "grams": "30"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["stylist"], response.json()["version"], response.json()["locked"]) == (
        stylist.pk,
        1,
        False,
    )
    FormulaFactory(brand="Wella", shades=[("8/0", 20)])
    FormulaFactory(brand="Goldwell", shades=[("7/1", 20)])
    assert len(api_as(manager).get(url).json()) == 1
    body = api_as(manager).get(reverse("api-formulas"), {"brand": "wella", "shade": "7/1"}).json()
    assert [(r["customer_name"], r["brand"]) for r in body["results"]] == [("张三", "Wella")]
    assert api_as(manager).get(reverse("api-formulas")).status_code == 400


def test_formula_bad_input_and_other_stylists_client(api_as, stylist, other_stylist):
    customer = CustomerFactory(preferred_staff=other_stylist)
    url = reverse("api-customer-formulas", args=[customer.pk])
    response = api_as(stylist).post(url, {"brand": "Wella", "shades": []}, format="json")
    assert (response.status_code, list(response.json())) == (400, ["shades"])
    response = api_as(stylist).post(
        url, {"brand": "Wella", "shades": [{"shade": "7/1", "grams": 30}]}, format="json"
    )
    assert response.status_code == 403
    assert ColourFormula.objects.count() == 0


def test_patch_tests_and_consent(api_as, manager, reception, stylist):
    customer = CustomerFactory()
    url = reverse("api-customer-patch-tests", args=[customer.pk])
    response = api_as(manager).post(
        url, {"product": "Koleston", "tested_on": "2026-01-10", "result": "passed"}, format="json"
    )
    assert (response.status_code, response.json()["valid_until"]) == (201, "2026-07-09")
    assert api_as(manager).post(url, {"product": "", "tested_on": "x"}, format="json").status_code == 400
    consent = reverse("api-customer-consent", args=[customer.pk])
    response = api_as(reception).post(
        consent, {"channel": "sms", "granted": True, "method": "front desk"}, format="json"
    )
    assert (response.status_code, response.json()["consent_sms"]) == (201, True)
    assert (
        api_as(stylist)
        .post(consent, {"channel": "sms", "granted": False, "method": "x"}, format="json")
        .status_code
        == 403
    )
    assert ConsentRecord.objects.count() == 1


def test_schema_lists_the_endpoints(api_as, manager):
    schema = api_as(manager).get(reverse("schema"), {"format": "json"}).json()
    for path in (
        "/api/v1/customers/",
        "/api/v1/customers/{id}/",
        "/api/v1/customers/{id}/formulas/",
        "/api/v1/customers/{id}/patch-tests/",
        "/api/v1/customers/{id}/consent/",
        "/api/v1/formulas/",
    ):
        assert path in schema["paths"], path


def test_list_query_count_constant(api_as, reception, django_assert_num_queries):
    api = api_as(reception)
    for i in range(3):
        CustomerFactory(tags=[TagFactory(name=f"a{i}")])
    api.get(reverse("api-customers"))  # permissions are then cached on the forced user
    # 3 queries: count, page of clients (+preferred staff, home location, referrer), their tags.
    with django_assert_num_queries(3):
        assert len(api.get(reverse("api-customers")).json()["results"]) == 3
    for i in range(20):
        CustomerFactory(tags=[TagFactory(name=f"b{i}")])
    with django_assert_num_queries(3):
        assert len(api.get(reverse("api-customers")).json()["results"]) == 23


def test_formula_correction_api_in_place_then_new_version(api_as, stylist):
    customer = CustomerFactory(preferred_staff=stylist)
    fresh = FormulaFactory(customer=customer, stylist=stylist)
    api = api_as(stylist)
    response = api.patch(reverse("api-formula", args=[fresh.pk]), {"zones": "ends"}, format="json")
    assert (response.status_code, response.json()["id"], response.json()["zones"]) == (200, fresh.pk, "ends")
    old = FormulaFactory(customer=customer, stylist=stylist, created_at=timezone.now() - timedelta(days=3))
    response = api.patch(
        reverse("api-formula", args=[old.pk]), {"shades": [{"shade": "6/0", "grams": "45"}]}, format="json"
    )
    body = response.json()
    assert (response.status_code, body["version"], body["supersedes"]) == (201, 2, old.pk)
    assert body["shades"] == [{"shade": "6/0", "grams": "45.0"}]
    assert api.patch(reverse("api-formula", args=[old.pk]), {"zones": "x"}, format="json").status_code == 400
    assert ColourFormula.objects.filter(customer=customer).count() == 3


def test_patch_test_result_api(api_as, manager, reception):
    test = PatchTestFactory(result="pending")
    url = reverse("api-patch-test", args=[test.pk])
    assert api_as(reception).patch(url, {"result": "failed"}, format="json").status_code == 403
    assert api_as(manager).patch(url, {"result": "nope"}, format="json").status_code == 400
    response = api_as(manager).patch(url, {"result": "failed"}, format="json")
    assert (response.status_code, response.json()["result"]) == (200, "failed")
