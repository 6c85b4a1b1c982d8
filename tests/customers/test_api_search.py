"""GET /api/v1/customers/?q= (search as you type): the lean rows give exactly what the list
serializer gives for the same clients, per role, in a fixed number of queries."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from customers.api import CustomerListOutput
from customers.search import customer_search, customer_search_rows
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients_zhang(stylist):
    vip, alert = TagFactory(name="VIP"), TagFactory(name="Allergy alert")
    return [
        CustomerFactory(name="张一", phone="+8613800138000", email="a@example.com", tags=[vip, alert]),
        CustomerFactory(name="张二", phone="+447911123456", preferred_staff=stylist),
        CustomerFactory(name="张三", phone=None, tags=[vip]),
        CustomerFactory(name="王张", phone="+8613900000077"),  # a piece inside the name: ranked last
    ]


@pytest.mark.parametrize("role", ["reception", "stylist", "manager"])
def test_search_rows_equal_the_list_serializer(request, api_as, clients_zhang, role):
    staff = request.getfixturevalue(role)
    body = api_as(staff).get(reverse("api-customers"), {"q": "张"}).json()

    class Request:
        user = staff.user

    expected = CustomerListOutput(customer_search(q="张"), many=True, context={"request": Request}).data
    assert body["results"] == json.loads(json.dumps(expected))
    assert body["count"] == 4 and [r["name"] for r in body["results"]] == ["张一", "张三", "张二", "王张"]
    first, third, second = body["results"][:3]  # name order: 一 三 二
    assert (first["tags"], third["tags"], third["phone"]) == (["Allergy alert", "VIP"], ["VIP"], "")
    assert second["preferred_staff"] == request.getfixturevalue("stylist").pk
    if role == "stylist":
        assert (first["phone"], second["phone"]) == ("138****8000", "791***3456")
    else:
        assert (first["phone"], second["phone"]) == ("138 0013 8000", "+44 7911 123456")


def test_search_rows_keep_the_selector_order_and_skip_erased(clients_zhang):
    clients_zhang[0].erased_at = clients_zhang[0].created_at
    clients_zhang[0].save(update_fields=["erased_at"])
    rows = customer_search_rows(q="张", limit=2)
    assert [r.id for r in rows] == [c.pk for c in customer_search(q="张", limit=2)]
    assert [r.name for r in rows] == ["张三", "张二"]
    assert customer_search_rows(q="!") == []


def test_api_search_query_count_constant(api_as, reception, stylist, django_assert_num_queries):
    api = api_as(reception)
    vip = TagFactory(name="VIP")
    for i in range(3):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[vip], preferred_staff=stylist)
    api.get(reverse("api-customers"), {"q": "张"})  # permissions are then cached on the forced user
    # PostgreSQL: the rows with their tags (one statement) and the setting reset (the test runs
    # in a transaction). SQLite: one query per branch (name prefix, piece inside), the clients,
    # their tags.
    expected = 2 if connection.vendor == "postgresql" else 4
    with django_assert_num_queries(expected):
        assert len(api.get(reverse("api-customers"), {"q": "张"}).json()["results"]) == 3
    for i in range(3, 40):
        CustomerFactory(name=f"张{chr(0x4E00 + i)}", tags=[vip, TagFactory()], preferred_staff=stylist)
    with django_assert_num_queries(expected):
        results = api.get(reverse("api-customers"), {"q": "张"}).json()["results"]
    assert len(results) == 20 and all(
        r["preferred_staff"] == stylist.pk and "VIP" in r["tags"] for r in results
    )


@pytest.mark.parametrize("role", ["reception", "stylist"])
def test_phone_display_for_equals_display_phone(request, role):
    from phonenumber_field.phonenumber import to_python

    from customers.privacy import display_phone, phone_display_for

    user = request.getfixturevalue(role).user
    display = phone_display_for(user)
    values = [
        "+8613800138000",
        "+447911123456",
        "+85221234567",
        "+12025550123",
        "not a phone",
        "12",
        "",
        None,
    ]
    for value in values:
        assert display(value) == display_phone(user, to_python(value)), value
    assert display("+8613800138000") == ("138****8000" if role == "stylist" else "138 0013 8000")


def test_phone_display_for_remembers_full_and_masked_apart(reception, stylist):
    from customers.privacy import phone_display_for

    full, masked = phone_display_for(reception.user), phone_display_for(stylist.user)
    for _ in range(2):  # the second time from the process's memo of each text
        assert masked("+8613800138001") == "138****8001"
        assert full("+8613800138001") == "138 0013 8001"
        assert masked("+8613800138001") == "138****8001"
