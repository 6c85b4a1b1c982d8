"""customer_merge moves every related row (of every app) to the kept client, records what it
did, and changes nothing when refused."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import AccessLog, ConsentRecord, Customer, MergeRecord
from customers.services import customer_merge, merge_preview
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(manager, stylist, location):
    from appointments.models import Appointment, Visit

    vip, blonde, curly = TagFactory(name="VIP"), TagFactory(name="blonde"), TagFactory(name="curly")
    keep = CustomerFactory(
        name="张三", phone="+8613800001111", allergies="PPD", tags=[vip, blonde], notes="likes tea"
    )
    merge = CustomerFactory(
        name="张三",
        phone=None,
        email="zhangsan@example.com",
        birthday=date(1990, 5, 1),
        allergies="latex",
        external_id="legacy-42",
        tags=[blonde, curly],
        created_at=timezone.now() - timedelta(days=400),
    )
    referred = CustomerFactory(name="李四", referred_by=merge)
    ConsentRecord.objects.create(customer=merge, channel="sms", granted=True, method="front desk")
    ConsentRecord.objects.create(customer=merge, channel="email", granted=False, method="link")
    FormulaFactory(customer=merge, stylist=stylist)
    PatchTestFactory(customer=merge)
    AccessLog.objects.create(user=manager.user, customer=merge, action="view_file")
    start = timezone.now() + timedelta(days=1)
    appointment = Appointment.objects.create(
        customer=merge, location=location, start=start, end=start + timedelta(hours=1)
    )
    Visit.objects.create(customer=merge, location=location, started_at=timezone.now() - timedelta(days=3))
    return {"keep": keep, "merge": merge, "referred": referred, "appointment": appointment}


def test_merge_moves_every_related_row_and_records_counts(pair, manager):
    keep, merge = pair["keep"], pair["merge"]
    merge_pk = merge.pk

    record = customer_merge(keep=keep, merge=merge, by=manager.user)

    assert record.moved == {
        "appointments.Appointment.customer": 1,
        "appointments.Visit.customer": 1,
        "customers.AccessLog.customer": 1,
        "customers.ColourFormula.customer": 1,
        "customers.ConsentRecord.customer": 2,
        "customers.Customer.referred_by": 1,
        "customers.Customer.tags": 1,
        "customers.PatchTest.customer": 1,
    }
    assert (record.kept, record.merged_pk, record.merged_name, record.merged_by) == (
        keep,
        merge_pk,
        "张三",
        manager.user,
    )
    assert not Customer.objects.filter(pk=merge_pk).exists()
    keep.refresh_from_db()
    assert keep.consent_records.count() == 2
    assert keep.formulas.count() == 1
    assert keep.patch_tests.count() == 1
    assert keep.access_logs.count() == 1
    assert keep.appointments.get() == pair["appointment"]
    assert keep.visits.count() == 1
    assert sorted(t.name for t in keep.tags.all()) == ["VIP", "blonde", "curly"]
    pair["referred"].refresh_from_db()
    assert pair["referred"].referred_by == keep


def test_merge_fills_empty_fields_and_concatenates_health(pair, manager):
    keep = pair["keep"]
    old_created = pair["merge"].created_at

    customer_merge(keep=keep, merge=pair["merge"], by=manager.user)

    keep.refresh_from_db()
    assert str(keep.phone) == "+8613800001111"  # kept's own value wins
    assert keep.email == "zhangsan@example.com"  # empty → filled
    assert keep.birthday == date(1990, 5, 1)
    assert keep.external_id == "legacy-42"  # a unique value moves over
    assert keep.allergies == "PPD\nlatex"
    assert keep.notes == "likes tea"
    assert keep.created_at == old_created


def test_merge_takes_the_phone_when_kept_has_none(manager):
    keep = CustomerFactory(name="Emily", phone=None)
    merge = CustomerFactory(name="Emily C", phone="+8613900009876")
    customer_merge(keep=keep, merge=merge, by=manager.user)
    keep.refresh_from_db()
    assert str(keep.phone) == "+8613900009876"
    assert keep.phone_rev == "67890000931"  # the search column follows the phone


def test_preview_counts_what_merge_moves(pair, manager):
    preview = merge_preview(keep=pair["keep"], merge=pair["merge"])
    record = customer_merge(keep=pair["keep"], merge=pair["merge"], by=manager.user)
    assert preview == record.moved


def test_denied_merge_changes_nothing(pair, stylist):
    with pytest.raises(PermissionDenied):
        customer_merge(keep=pair["keep"], merge=pair["merge"], by=stylist.user)
    assert Customer.objects.filter(pk=pair["merge"].pk).exists()
    assert pair["merge"].consent_records.count() == 2
    assert MergeRecord.objects.count() == 0


def test_merge_with_itself_is_refused(pair, manager):
    with pytest.raises(ValidationError):
        customer_merge(keep=pair["keep"], merge=pair["keep"], by=manager.user)
    assert MergeRecord.objects.count() == 0


def test_merge_page_is_manager_only(pair, client_as, reception):
    url = reverse("customers:merge")
    assert client_as(reception).get(url).status_code == 403
    response = client_as(reception).post(
        url, {"keep": pair["keep"].pk, "merge": pair["merge"].pk, "confirm": "1"}
    )
    assert response.status_code == 403
    assert Customer.objects.filter(pk=pair["merge"].pk).exists()


def test_merge_page_previews_then_merges(pair, client_as, manager):
    client = client_as(manager)
    url = reverse("customers:merge")
    data = {"keep": pair["keep"].pk, "merge": pair["merge"].pk}

    preview = client.get(url, data)
    assert preview.status_code == 200
    assert b"appointments.Appointment.customer" in preview.content
    assert Customer.objects.filter(pk=pair["merge"].pk).exists()  # a preview changes nothing

    response = client.post(url, {**data, "confirm": "1"})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=pair["merge"].pk).exists()
    assert MergeRecord.objects.get().kept == pair["keep"]


def test_merge_page_bad_input_is_a_form_error(client_as, manager):
    response = client_as(manager).post(reverse("customers:merge"), {"keep": "x", "merge": "999999"})
    assert response.status_code == 200
    assert MergeRecord.objects.count() == 0
