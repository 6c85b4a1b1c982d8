"""The merge-handler registry: a fake app's handler, registered through the public API, is
called with both clients locked inside the merge's transaction; one that raises rolls the whole
merge back; a relation no handler moves is refused (merge_unhandled) and nothing changes."""

import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from appointments.merge import MERGE_HANDLER as APPOINTMENTS_HANDLER
from appointments.models import Appointment
from customers.models import ConsentRecord, Customer, MergeRecord
from customers.services import (
    MergeHandler,
    customer_merge,
    merge_handler_registered,
    merge_handlers,
    merge_preview,
    register_merge_handler,
    unregister_merge_handler,
)
from salon_crm.errors import Conflict
from tests.customers.factories import CustomerFactory, TagFactory


def _lock_taken_elsewhere(pk: int) -> bool:
    """True if another connection cannot lock the client's row right now."""
    outcome: list[bool] = []

    def probe():
        try:
            with transaction.atomic():
                list(Customer.objects.select_for_update(nowait=True).filter(pk=pk))
            outcome.append(False)
        except DatabaseError:
            outcome.append(True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join(timeout=30)
    return outcome == [True]


class FakeApp:
    """A fake app's handler: it records what it was given and what it saw."""

    def __init__(self, *, fail: bool = False):
        self.fail = fail
        self.calls: list[dict] = []

    def preview(self, *, keep, merge):
        return {"fake.Thing.customer": 2}

    def merge(self, *, keep, merge, by):
        self.calls.append(
            {
                "pks": (keep.pk, merge.pk),
                "by": by,
                "in_transaction": transaction.get_connection().in_atomic_block,
                "locked": (_lock_taken_elsewhere(keep.pk), _lock_taken_elsewhere(merge.pk))
                if connection.vendor == "postgresql"
                else None,
            }
        )
        if self.fail:
            raise Conflict("Both clients hold a fake balance.", code="fake_conflict")
        return {"fake.Thing.customer": 2, "fake.Other.customer": 0}

    def handler(self) -> MergeHandler:
        return MergeHandler("fake", preview=self.preview, merge=self.merge)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_registered_handler_runs_inside_the_merge_with_both_clients_locked(manager):
    keep, merge = CustomerFactory(name="张三"), CustomerFactory(name="张三 dup")
    fake = FakeApp()
    assert (_lock_taken_elsewhere(keep.pk), _lock_taken_elsewhere(merge.pk)) == (False, False)

    with merge_handler_registered(fake.handler()):
        assert merge_preview(keep=keep, merge=merge) == {"fake.Thing.customer": 2}
        record = customer_merge(keep=keep, merge=merge, by=manager.user)

    assert fake.calls == [
        {"pks": (keep.pk, merge.pk), "by": manager.user, "in_transaction": True, "locked": (True, True)}
    ]
    assert record.moved == {"fake.Thing.customer": 2}  # zeros left out
    assert not transaction.get_connection().in_atomic_block  # the merge has committed
    assert "fake" not in merge_handlers()


@pytest.mark.django_db
def test_a_handler_that_raises_rolls_the_whole_merge_back(manager):
    vip, curly = TagFactory(name="VIP"), TagFactory(name="curly")
    keep = CustomerFactory(name="张三", email="", tags=[vip])
    merge = CustomerFactory(name="张三 dup", email="z@example.com", tags=[curly])
    ConsentRecord.objects.create(customer=merge, channel="sms", granted=True, method="front desk")
    fake = FakeApp(fail=True)

    # customers' own handler runs first and moves its rows; the fake one then refuses
    with merge_handler_registered(fake.handler()), pytest.raises(Conflict) as exc:
        customer_merge(keep=keep, merge=merge, by=manager.user)

    assert exc.value.code == "fake_conflict"
    assert [call["pks"] for call in fake.calls] == [(keep.pk, merge.pk)]
    keep.refresh_from_db()
    merge.refresh_from_db()
    assert (keep.email, merge.email) == ("", "z@example.com")
    assert [t.name for t in keep.tags.all()] == ["VIP"]
    assert [t.name for t in merge.tags.all()] == ["curly"]
    assert list(ConsentRecord.objects.values_list("customer", flat=True)) == [merge.pk]
    assert MergeRecord.objects.count() == 0


@pytest.mark.django_db
def test_a_relation_no_handler_moves_is_refused_and_nothing_changes(manager, location):
    keep, merge = CustomerFactory(name="张三"), CustomerFactory(name="张三 dup")
    ConsentRecord.objects.create(customer=merge, channel="sms", granted=True, method="front desk")
    start = timezone.now() + timedelta(days=1)
    appointment = Appointment.objects.create(
        customer=merge, location=location, start=start, end=start + timedelta(hours=1)
    )
    does_nothing = MergeHandler("appointments", preview=lambda **kw: {}, merge=lambda **kw: {})

    with merge_handler_registered(does_nothing), pytest.raises(Conflict) as exc:
        customer_merge(keep=keep, merge=merge, by=manager.user)

    assert (exc.value.code, exc.value.extra) == (
        "merge_unhandled",
        {"relation": "appointments.Appointment.customer"},
    )
    assert Customer.objects.filter(pk=merge.pk).exists()
    appointment.refresh_from_db()
    assert appointment.customer_id == merge.pk
    assert list(ConsentRecord.objects.values_list("customer", flat=True)) == [merge.pk]
    assert MergeRecord.objects.count() == 0
    # the handler it stood in for is back
    assert merge_handlers()["appointments"] is APPOINTMENTS_HANDLER


@pytest.mark.django_db
def test_register_and_unregister(manager):
    fake = FakeApp()
    register_merge_handler(fake.handler())
    try:
        assert list(merge_handlers()) == [
            "customers",
            "appointments",
            "messaging",
            "loyalty",
            "feedback",
            "analytics",
            "fake",
        ]
    finally:
        unregister_merge_handler("fake")
    assert list(merge_handlers()) == [
        "customers",
        "appointments",
        "messaging",
        "loyalty",
        "feedback",
        "analytics",
    ]
    unregister_merge_handler("fake")  # unknown keys are ignored
