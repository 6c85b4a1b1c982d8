"""Client events: every kind reaches a listener after the write has committed (real commits,
through the pages and the API), carries ids, the actor and the time, is dropped with a rolled
back write, and a listener that raises leaves the committed write and the 2xx answer alone."""

import logging

import pytest
from django.db import transaction
from django.urls import reverse

from customers import events
from customers.models import ConsentRecord, Customer
from customers.services import customer_create, customer_update
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    """Every customers event, with whether a transaction was still open when it arrived."""
    received: list[tuple[events.CustomerEvent, bool]] = []

    def listener(event):
        received.append((event, transaction.get_connection().in_atomic_block))

    with events.listening("tests.heard", listener):
        yield received


@pytest.fixture
def boom():
    """A listener that always fails, subscribed before `heard`."""

    def listener(event):
        raise RuntimeError("listener down")

    with events.listening("tests.boom", listener):
        yield


def kinds(heard) -> list[tuple[str, int, int | None, bool]]:
    return [(e.kind, e.customer_id, e.actor_id, in_transaction) for e, in_transaction in heard]


def test_created_through_the_api_after_commit(boom, heard, api_as, manager, caplog):
    with caplog.at_level(logging.ERROR, logger="salon_crm.events"):
        response = api_as(manager).post(
            reverse("api-customers"), {"name": "张三", "phone": "13800138000"}, format="json"
        )
    assert response.status_code == 201
    customer = Customer.objects.get()
    assert kinds(heard) == [("created", customer.pk, manager.user.pk, False)]
    assert heard[0][0].at is not None
    assert "listener 'tests.boom' failed" in caplog.text


def test_updated_names_the_changed_fields(boom, heard, api_as, manager):
    customer = CustomerFactory(name="张三", notes="")
    response = api_as(manager).patch(
        reverse("api-customer", args=[customer.pk]),
        {"name": "张三", "notes": "likes tea", "tags": ["VIP"]},
        format="json",
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.notes == "likes tea"
    assert kinds(heard) == [("updated", customer.pk, manager.user.pk, False)]
    assert heard[0][0].fields == ("notes", "tags")


def test_an_update_that_changes_nothing_sends_nothing(heard, manager):
    customer = CustomerFactory(name="张三", notes="x")
    customer_update(user=manager.user, customer=customer, data={"name": "张三", "notes": "x"})
    assert heard == []


def test_consent_changed_through_the_page(boom, heard, client_as, reception):
    customer = CustomerFactory()
    response = client_as(reception).post(
        reverse("customers:consent", args=[customer.pk]),
        {"channel": "sms", "granted": "true", "method": "front desk"},
    )
    assert response.status_code == 302
    assert ConsentRecord.objects.get().customer == customer
    assert kinds(heard) == [("consent_changed", customer.pk, reception.user.pk, False)]
    assert (heard[0][0].channel, heard[0][0].granted) == ("sms", True)


def test_merged_through_the_page(boom, heard, client_as, manager):
    keep, merge = CustomerFactory(name="张三"), CustomerFactory(name="张三 dup")
    merge_pk = merge.pk
    response = client_as(manager).post(
        reverse("customers:merge"), {"keep": keep.pk, "merge": merge.pk, "confirm": "1"}
    )
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=merge_pk).exists()
    assert kinds(heard) == [("merged", keep.pk, manager.user.pk, False)]
    assert heard[0][0].merged_id == merge_pk


def test_erased_through_the_page(boom, heard, client_as, manager):
    customer = CustomerFactory(name="张三")
    response = client_as(manager).post(reverse("customers:erase", args=[customer.pk]), {"confirm": "on"})
    assert response.status_code == 302
    assert Customer.objects.get(pk=customer.pk).erased_at is not None
    # erasing withdraws consent through its own record, not through consent_set: one event
    assert kinds(heard) == [("erased", customer.pk, manager.user.pk, False)]


def test_a_rolled_back_write_sends_nothing(heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_create(user=None, name="张三", phone="13800138000")
        raise RuntimeError("the caller's transaction fails after the client was saved")
    assert Customer.objects.count() == 0
    assert heard == []


def test_system_writes_have_no_actor(heard):
    customer = customer_create(user=None, name="Import", external_id="X-1")
    assert kinds(heard) == [("created", customer.pk, None, False)]


def test_subscribing_to_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        events.subscribe("tests.bad", lambda event: None, kinds=["deleted"])
    assert "tests.bad" not in events.bus.subscriptions()
