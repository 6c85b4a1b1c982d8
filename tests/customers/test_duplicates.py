"""Duplicate detection: phone owner in any format, similar name + same birthday."""

from datetime import date

import pytest
from django.utils import timezone

from customers.duplicates import find_phone_owner, similar_customers
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_find_phone_owner_in_any_format(db):
    owner = CustomerFactory(name="张三", phone="+8613800138000")
    assert find_phone_owner("138 0013 8000") == owner
    assert find_phone_owner("+86 138-0013-8000") == owner
    assert find_phone_owner("13800138001") is None
    assert find_phone_owner("") is None
    assert find_phone_owner("not a phone") is None
    assert find_phone_owner("13800138000", exclude_pk=owner.pk) is None


def test_similar_name_same_birthday(db):
    bday = date(1990, 5, 1)
    zhang = CustomerFactory(name="张三", birthday=bday)
    homophone = CustomerFactory(name="章三", birthday=bday)  # same pinyin zhangsan
    CustomerFactory(name="张三", birthday=date(1991, 5, 1))  # other birthday
    CustomerFactory(name="张山峰", birthday=bday)  # other name
    emily = CustomerFactory(name="Emily Clark", birthday=bday)

    assert similar_customers(name="张三", birthday=bday) == [zhang, homophone]
    assert similar_customers(name="张三", birthday=bday, exclude_pk=zhang.pk) == [homophone]
    assert similar_customers(name="emily  clark", birthday=bday) == [emily]
    assert similar_customers(name="张三", birthday=None) == []


def test_erased_clients_are_not_candidates(db):
    bday = date(1990, 5, 1)
    CustomerFactory(name="张三", birthday=bday, erased_at=timezone.now())
    assert similar_customers(name="张三", birthday=bday) == []
