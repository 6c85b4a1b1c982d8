"""The client card page: contents per role, masking, access log, constant query count."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import card, timeline
from customers.models import AccessLog, ConsentRecord
from tests.customers.factories import CustomerFactory, FormulaFactory, PatchTestFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhang(stylist):
    return CustomerFactory(
        name="张三",
        phone="+8613800138000",
        allergies="对 PPD 染发剂过敏",
        medical_notes="高血压",
        preferred_staff=stylist,
        tags=[TagFactory(name="VIP", colour="#d4a017")],
    )


def test_stylist_sees_masked_phone_and_red_allergy(client_as, stylist, zhang):
    response = client_as(stylist).get(reverse("customers:detail", args=[zhang.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "138****8000" in html
    assert "13800138000" not in html and "138 0013 8000" not in html
    assert 'id="safety-warnings"' in html
    assert "Allergy on file: 对 PPD 染发剂过敏" in html
    assert "VIP" in html and "#d4a017" in html


def test_failed_patch_test_is_a_red_warning(client_as, stylist, zhang):
    PatchTestFactory(customer=zhang, product="Koleston", result="failed", tested_on=timezone.localdate())
    html = client_as(stylist).get(reverse("customers:detail", args=[zhang.pk])).content.decode()
    warnings = html[html.index('id="safety-warnings"') : html.index('id="contact"')]
    assert 'data-warning="patch_test_failed"' in warnings and "Koleston" in warnings


def test_reception_sees_full_phone(client_as, reception, zhang):
    html = client_as(reception).get(reverse("customers:detail", args=[zhang.pk])).content.decode()
    assert "138 0013 8000" in html
    assert "138****8000" not in html


def test_card_view_writes_access_log(client_as, reception, zhang):
    client_as(reception).get(reverse("customers:detail", args=[zhang.pk]), REMOTE_ADDR="10.1.2.3")
    log = AccessLog.objects.get()
    assert (log.user, log.customer, log.action, log.ip_address) == (
        reception.user,
        zhang,
        AccessLog.Action.VIEW_FILE,
        "10.1.2.3",
    )


def test_missing_client_is_404(client_as, reception):
    assert client_as(reception).get(reverse("customers:detail", args=[999])).status_code == 404


def _grow_history(customer, stylist, n):
    for i in range(n):
        formula = FormulaFactory(customer=customer, stylist=stylist, shades=[("7/1", 30), ("8/0", 30)])
        PatchTestFactory(customer=customer, tested_on=timezone.localdate() - timedelta(days=10 + i))
        ConsentRecord.objects.create(customer=customer, channel="sms", granted=bool(i % 2), method="desk")
        TagFactory(name=f"t{customer.pk}-{i}").customers.add(customer)
        assert formula.pk


@pytest.fixture
def customers_sources_only():
    """Only customers' own timeline sources and no other app's card panel (customers.card): the
    other apps add theirs (tests/customers/test_card_summary.py counts appointments')."""
    others = {k: v for k, v in timeline.sources().items() if not k.startswith("customers.")}
    other_reads = timeline.registered_reads()
    panels, panel_reads = card.providers(), card.registered_reads()
    for key in others:
        timeline.unregister(key)
    for key in panels:
        card.unregister(key)
    yield
    for key, source in others.items():
        timeline.register(key, source, reads=other_reads.get(key))
    for key, provider in panels.items():
        card.register(key, provider, reads=panel_reads.get(key))


def test_card_query_count_exact_and_constant_as_history_grows(
    client_as, stylist, zhang, customers_sources_only, django_assert_num_queries
):
    client = client_as(stylist)
    url = reverse("customers:detail", args=[zhang.pk])
    _grow_history(zhang, stylist, 2)
    # 9 queries: session, user, user perms, group perms, staff row (role: the "their client"
    # check, answered by preferred_staff); the card's one statement (the client, preferred
    # stylist, home location, referrer, tags, formulas with stylist, newer version and shades,
    # patch tests, timeline: formulas, patch tests, consent); access-log insert; the base
    # template's two location queries. (Every other app's panel and timeline source adds
    # subqueries to the statement, not queries: test_card_summary.py counts them all.)
    with django_assert_num_queries(9):
        assert client.get(url).status_code == 200
    _grow_history(zhang, stylist, 15)
    with django_assert_num_queries(9):
        assert client.get(url).status_code == 200


def test_card_query_count_constant_with_every_registered_source(
    client_as, stylist, zhang, django_assert_num_queries
):
    """Whatever other apps register, a longer history costs no extra query."""
    client = client_as(stylist)
    url = reverse("customers:detail", args=[zhang.pk])
    _grow_history(zhang, stylist, 1)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _grow_history(zhang, stylist, 12)
    with django_assert_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
