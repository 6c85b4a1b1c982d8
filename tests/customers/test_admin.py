"""Admin pages for client files load, and list views never show health fields."""

import pytest
from django.contrib import admin
from django.urls import reverse

from customers.models import AccessLog, ColourFormula, ConsentRecord, Customer, PatchTest, SafetyOverride, Tag
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory

pytestmark = pytest.mark.django_db
MODELS = [Customer, Tag, ColourFormula, PatchTest, ConsentRecord, SafetyOverride, AccessLog]


def test_health_fields_not_in_any_list_display():
    for model in MODELS:
        model_admin = admin.site._registry[model]
        assert {"allergies", "contraindications", "medical_notes"}.isdisjoint(model_admin.list_display), model


def test_admin_pages_load_without_plaintext_health_in_lists(client, owner):
    owner.user.is_staff = owner.user.is_superuser = True
    owner.user.save()
    customer = CustomerFactory(allergies="PPD-secret")
    FormulaFactory(customer=customer)
    PatchTestFactory(customer=customer)
    client.force_login(owner.user)
    for model in MODELS:
        url = reverse(f"admin:customers_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 200, url
        assert "PPD-secret" not in response.content.decode()
    assert client.get(reverse("admin:customers_customer_change", args=[customer.pk])).status_code == 200
