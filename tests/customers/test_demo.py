"""The demo clients: ~200, 张三 with the PPD allergy, idempotent and deterministic."""

import pytest

from accounts.demo import DemoContext, seed_accounts
from customers.demo import COUNT, seed_customers
from customers.models import ColourFormula, Customer, PatchTest

pytestmark = pytest.mark.django_db


def _seed():
    ctx = DemoContext(password="pw-demo-123", log=lambda m: None)
    seed_accounts(ctx)
    seed_customers(ctx)
    return ctx


def test_demo_clients_idempotent_and_realistic():
    _seed()
    snapshot = sorted(Customer.objects.values_list("external_id", "name", "phone"))
    formulas, tests = ColourFormula.objects.count(), PatchTest.objects.count()
    _seed()
    assert sorted(Customer.objects.values_list("external_id", "name", "phone")) == snapshot
    assert (ColourFormula.objects.count(), PatchTest.objects.count()) == (formulas, tests)
    assert len(snapshot) == COUNT
    zhang = Customer.objects.get(external_id="demo-0001")
    assert (zhang.name, str(zhang.phone)) == ("张三", "+8613800138000")
    assert zhang.allergies == "对 PPD 染发剂过敏 (PPD hair-dye allergy)"
    assert zhang.name_initials == "zs"
    chinese = sum(1 for _, name, _ in snapshot if any("\u4e00" <= ch <= "\u9fff" for ch in name))
    assert 0.6 * COUNT <= chinese <= 0.8 * COUNT
    assert formulas >= 40 and tests >= 30
    assert Customer.objects.exclude(allergies="").count() >= 10


def test_demo_is_deterministic():
    _seed()
    first = sorted(Customer.objects.values_list("external_id", "name", "phone", "birthday"))
    Customer.objects.all().delete()
    _seed()
    assert sorted(Customer.objects.values_list("external_id", "name", "phone", "birthday")) == first
